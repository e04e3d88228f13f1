#!/usr/bin/env bash
# On the device machine (Ubuntu 24.04, no WABT or wasm toolchain): runs the
# test suite and the benchmarks from the tree that device_prepare.sh built,
# writing logs under $OUT. Binaries carry absolute paths of the Debian
# checkout (/work/main), so that path is linked to this checkout first.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-/tmp/samepage-out}"
mkdir -p "$out" /work
[[ -e /work/main ]] || ln -s "$root" /work/main
export PATH="$root/.devcarry/bin:$PATH"
export SAMEPAGE_WASM_RT_INCLUDE="$root/.devcarry/include"
export SAMEPAGE_CACHE_DIR=/tmp/samepage-cache
build=/work/main/build-device
{
  echo "## machine"; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; nvidia-smi -L 2>/dev/null
  echo "## tests"; (cd "$build" && ctest -j8 --timeout 300 2>&1 | tail -15)
  echo "## cache timing"; "$root/bench/cache_timing.sh" "$build" hello file_reader api_tour
  echo "## zero-copy"
  for mb in 16 256; do "$build/samepage" bench zero-copy --size-mb $mb --repeats 20; done
  echo "## cpu matmul"; "$build/bench/cpu_matmul_bench" --reps 9 2>&1 | tail -40
} 2>&1 | tee "$out/device_run.log"
