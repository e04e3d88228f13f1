#!/usr/bin/env bash
# What interruption costs: the same guests run with and without `--timeout`
# (a per-call CLOCK_MONOTONIC timer and the host call gate on every import),
# alternating, REPS times each; prints one markdown row per workload with the
# medians, for bench/RESULTS.md. BEFORE_DIR, when given, holds the samepage
# binary and libsamepage_core.so of an earlier commit, run as a third column.
#   bench/interrupt_cost.sh [BUILD_DIR] [REPS] [BEFORE_DIR]   (default: build, 9)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
reps="${2:-9}"
before="${3:-}"
sp="$build/samepage"
guests="$build/guests"
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# The number after "KEY": in the guest's one-line JSON.
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }

# workload label, JSON key, guest and its arguments
run_pair() {
  local label="$1" key="$2"
  shift 2
  local old=() plain=() timed=()
  for ((i = 0; i < reps; ++i)); do
    [[ -n $before ]] && old+=("$(LD_LIBRARY_PATH="$before" "$before/samepage" run "$@" | field "$key")")
    plain+=("$("$sp" run "$@" | field "$key")")
    timed+=("$("$sp" run --timeout 10m "$@" | field "$key")")
  done
  local o="-" a b
  [[ -n $before ]] && o=$(printf '%s\n' "${old[@]}" | median)
  a=$(printf '%s\n' "${plain[@]}" | median)
  b=$(printf '%s\n' "${timed[@]}" | median)
  echo "| $(date -u +%F) | $machine | $commit | $label | $key | $o | $a | $b |"
}

echo "| date | machine | commit | workload | number (median of $reps) | before | gate | gate + --timeout 10m |"
echo "|---|---|---|---|---|---:|---:|---:|"
run_pair "cpu_loop compute 3000 (64×64 int matmul, guest code only)" ms "$guests/cpu_loop.wasm" compute 3000
run_pair "cpu_loop imports 20000000 (fd_fdstat_get on a closed fd)" ns_per_item "$guests/cpu_loop.wasm" imports 20000000
run_pair "zero_copy_bench 64 MiB, 10 repeats (the guest of bench zero-copy)" median_ms "$guests/zero_copy_bench.wasm" 64 10
