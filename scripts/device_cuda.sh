#!/usr/bin/env bash
# On the device machine: the CUDA backend's checks, from the tree that
# scripts/device_prepare.sh built (build-device) and staged (.devcarry):
#   tests     every test over the CUDA backend (BackendOps op test, sequences)
#   memcheck  the same under compute-sanitizer --tool memcheck, when installed
#   bench     samepage bench zero-copy --backend cuda, and bench gemv if built
# Usage: scripts/device_cuda.sh [tests] [memcheck] [bench]  (none: all three).
# Logs go under $OUT (the device tool's folder) or /tmp/samepage-out.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-/tmp/samepage-out}"
build="$root/build-device"
mkdir -p "$out"
export PATH="$root/.devcarry/bin:$PATH"
export SAMEPAGE_CACHE_DIR=/tmp/samepage-cache
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(tests memcheck bench)
filter='*cuda*'

sanitizer() {
  command -v compute-sanitizer 2>/dev/null && return
  ls /usr/local/cuda*/bin/compute-sanitizer /opt/nvidia/*/compute-sanitizer 2>/dev/null | head -1
}

{
  echo "## machine"; nvidia-smi -L 2>&1; nvidia-smi --query-gpu=driver_version,memory.total --format=csv,noheader 2>&1
  "$build/samepage" devices
  for step in "${steps[@]}"; do
    case "$step" in
      tests)
        echo "## tests ($filter)"
        (cd "$build/tests" && ./samepage_tests --gtest_filter="$filter" >"$out/cuda_tests.log" 2>&1)
        echo "exit $?"
        grep -E '^\[ BackendOps \]|^\[  (PASSED|FAILED|SKIPPED) |Failure|error' "$out/cuda_tests.log" | head -80
        ;;
      memcheck)
        echo "## memcheck"
        cs="$(sanitizer)"
        if [ -z "$cs" ]; then echo "compute-sanitizer: not installed on this machine"; continue; fi
        (cd "$build/tests" && timeout 500 "$cs" --tool memcheck --error-exitcode 3 --print-limit 20 \
           ./samepage_tests --gtest_filter="$filter" >"$out/memcheck.log" 2>&1)
        echo "exit $?"
        grep -E 'ERROR SUMMARY|^\[  (PASSED|FAILED) |Invalid|========= ' "$out/memcheck.log" | head -30
        ;;
      bench)
        echo "## zero-copy"
        "$build/samepage" bench zero-copy --backend cuda --size-mb 16 --repeats 20
        "$build/samepage" bench zero-copy --backend cuda --size-mb 256 --repeats 20
        if [ -x "$build/bench/cuda_gemv_bench" ]; then echo "## gemv"; "$build/bench/cuda_gemv_bench"; fi
        ;;
      *) echo "unknown step $step";;
    esac
  done
} 2>&1 | tee "$out/device_cuda.log"
