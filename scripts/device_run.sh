#!/usr/bin/env bash
# On the device machine (Ubuntu 24.04, no WABT or wasm toolchain): runs the
# test suite and the benchmarks from the tree that device_prepare.sh built,
# wherever it was carried, writing logs under $OUT. The binaries hold no
# path of the build machine (run paths are $ORIGIN-relative, the engine
# finds wasm-rt.h beside the library, the tests find guests and data
# relative to their binary); CTest's files do, so the tests run without it.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-/tmp/samepage-out}"
build="$root/build-device"
mkdir -p "$out"
export PATH="$root/.devcarry/bin:$PATH"
export SAMEPAGE_CACHE_DIR=/tmp/samepage-cache
source "$root/scripts/cuda_libs.sh"  # libcublas.so.13

# Every test in a process of its own, as CTest runs them, in parallel.
run_tests() {
  local bin="$build/tests/samepage_tests" logs="$out/tests"
  mkdir -p "$logs"
  "$bin" --gtest_list_tests | awk '/^[^ ]/ {suite = $1} /^  / {print suite $1}' >"$logs/list"
  xargs -P "$(nproc)" -I{} bash -c '
    log="$3/$(tr / _ <<<"$4").log"
    if (cd "$1" && timeout 300 "$2" --gtest_filter="$4" >"$log" 2>&1); then echo "ok $4"; else echo "FAILED $4"; fi
  ' _ "$build/tests" "$bin" "$logs" {} <"$logs/list" >"$logs/results"
  echo "$(grep -c '^ok' "$logs/results") passed, $(grep -c '^FAILED' "$logs/results") failed of $(wc -l <"$logs/list") tests"
  grep '^FAILED' "$logs/results"
}

{
  echo "## machine"; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; nvidia-smi -L 2>/dev/null
  echo "## tests"; run_tests
  echo "## cache timing"; "$root/bench/cache_timing.sh" "$build" hello file_reader api_tour
  echo "## zero-copy"
  for mb in 16 256; do "$build/samepage" bench zero-copy --size-mb $mb --repeats 20; done
  echo "## cpu matmul"; "$build/bench/cpu_matmul_bench" --reps 9 2>&1 | tail -40
} 2>&1 | tee "$out/device_run.log"
