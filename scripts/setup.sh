#!/usr/bin/env bash
# Installs what samepage needs on Debian 12, idempotently: the guest
# toolchain (clang 14 for wasm32, wasi-libc, libc++), WABT (wasm2c), the
# host build (CMake, Ninja, GoogleTest, Google Benchmark), and OpenBLAS,
# which the CPU backend loads at run time for prefill-sized products.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang-14 lld-14 wabt
  wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 libclang-rt-14-dev-wasm32
  libgtest-dev libbenchmark-dev
  libopenblas0-pthread
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
