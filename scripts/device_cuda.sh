#!/usr/bin/env bash
# On the device machine: the CUDA backend's checks, from the tree that
# scripts/device_prepare.sh built (build-device) and staged (.devcarry):
#   tests     every test over the CUDA backend (BackendOps op test, sequences)
#   memcheck  the same under compute-sanitizer --tool memcheck, when installed
#   bench     samepage bench zero-copy --backend cuda, and bench gemv if built
#   llm       the LLM guest on synthetic models written here (no network):
#             greedy ids on cpu and cuda side by side, with their timings
# Usage: scripts/device_cuda.sh [tests] [memcheck] [bench] [llm]  (none: all).
# Logs go under $OUT (the device tool's folder) or /tmp/samepage-out.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-/tmp/samepage-out}"
build="$root/build-device"
mkdir -p "$out"
export PATH="$root/.devcarry/bin:$PATH"
export SAMEPAGE_CACHE_DIR=/tmp/samepage-cache
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(tests memcheck bench llm)
filter='*cuda*:CudaBackend.*'

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
      llm)
        echo "## llm (greedy, 64 tokens after 8 prompt ids)"
        for spec in "smollm2-135m q4_0" "smollm2-135m bf16" "llama-3.2-1b bf16" "llama-3.2-1b q4_0"; do
          set -- $spec
          model="/tmp/synth-$1-$2.gguf"
          "$build/samepage-synth-model" --shape "$1" --dtype "$2" --threads "$(nproc)" -o "$model" >/dev/null || continue
          failed=0
          for be in cpu cuda; do
            timeout 300 "$build/samepage" generate -m "$model" --ids -p "1 2 3 4 5 6 7 8" -n 64 --backend "$be" \
              --json >"$out/gen-$1-$2-$be.txt" 2>&1
            rc=$?
            [ $rc -ne 0 ] && failed=1
            echo "$1 $2 $be: exit $rc $(grep '^{' "$out/gen-$1-$2-$be.txt" | tail -1)"
            [ $rc -ne 0 ] && head -c 300 "$out/gen-$1-$2-$be.txt" && echo
          done
          if [ $failed -ne 0 ]; then
            echo "$1 $2: not compared (a run failed)"
          elif cmp -s <(grep -v '^{' "$out/gen-$1-$2-cpu.txt") <(grep -v '^{' "$out/gen-$1-$2-cuda.txt"); then
            echo "$1 $2: cpu and cuda ids identical"
          else
            echo "$1 $2: cpu and cuda ids DIFFER"; diff <(grep -v '^{' "$out/gen-$1-$2-cpu.txt") \
              <(grep -v '^{' "$out/gen-$1-$2-cuda.txt") | head -6
          fi
        done
        ;;
      *) echo "unknown step $step";;
    esac
  done
} 2>&1 | tee "$out/device_cuda.log"
