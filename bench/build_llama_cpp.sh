#!/usr/bin/env bash
# Builds llama.cpp's CPU tools (llama-bench, llama-tokenize, llama-simple) from
# the llama-cpp-python source distribution on PyPI, the peer samepage is
# measured against, into a cache outside git; prints the bin directory.
# Idempotent: a finished build is reused. About 8 minutes on 2 cores.
# With --source-only: fetches the source (once) and prints its directory.
#
# GGML_NATIVE is off on purpose: -march=native turns on AMX on Sapphire
# Rapids, and a VM that does not grant AMX tile state kills llama-bench with
# SIGILL at its first matmul (seen on this CI machine); AVX-512 (VNNI, BF16,
# VBMI) is enabled explicitly when the CPU has it.
set -euo pipefail
version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/samepage/llama.cpp-$version"
bin="$cache/build/bin"
if [[ "${1:-}" != --source-only && -x "$bin/llama-bench" && -x "$bin/llama-tokenize" ]]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
if [[ ! -d "$cache/src" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    "llama-cpp-python==$version" -d "$tmp" >&2
  tar xzf "$tmp"/llama_cpp_python-"$version".tar.gz -C "$tmp"
  mv "$tmp/llama_cpp_python-$version/vendor/llama.cpp" "$cache/src"
fi
if [[ "${1:-}" == --source-only ]]; then echo "$cache/src"; exit 0; fi
flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
if grep -qw avx512f /proc/cpuinfo; then
  flags+=(-DGGML_AVX512=ON)
  grep -qw avx512_vnni /proc/cpuinfo && flags+=(-DGGML_AVX512_VNNI=ON)
  grep -qw avx512_bf16 /proc/cpuinfo && flags+=(-DGGML_AVX512_BF16=ON)
  grep -qw avx512vbmi /proc/cpuinfo && flags+=(-DGGML_AVX512_VBMI=ON)
fi
grep -qw avx_vnni /proc/cpuinfo && flags+=(-DGGML_AVX_VNNI=ON)
cmake -S "$cache/src" -B "$cache/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF "${flags[@]}" >&2
ninja -C "$cache/build" -j"$(nproc)" llama-bench llama-tokenize llama-simple >&2
echo "$bin"
