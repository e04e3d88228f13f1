#!/usr/bin/env bash
# On the device machine: where one decode step's time goes on the CUDA
# backend. Runs `samepage generate` op by op (no graphs, so Nsight Compute
# sees each kernel) for a few tokens under `ncu` reading only each kernel's
# duration (clocks left alone), then sums the decode steps' kernels by name.
# Usage: bench/cuda_decode_profile.sh MODEL.gguf [STEPS]   (from build-device)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="$1"; steps="${2:-4}"
ncu_bin="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)"
csv="$(mktemp)"
# A one-token prompt: the prefill is one forward step like the decode ones;
# the first step (uploads, first launches) is dropped from the sums.
"$ncu_bin" --clock-control none --csv --print-units base \
  --metrics gpu__time_duration.sum "$root/build-device/samepage" generate -m "$model" --ids -p "1" \
  -n "$((steps + 1))" --ignore-eos --backend cuda --no-graphs >"$csv" 2>/dev/null || true
awk -F'","' -v steps="$steps" '
  /gpu__time_duration.sum/ {
    name = $5; sub(/\([^()]*\)$/, "", name); v = $NF; gsub(/[",]/, "", v)
    # to us; ncu names the unit ns/nsecond, us/usecond, ms/msecond
    u = $(NF - 1); gsub(/"/, "", u)
    v *= (u ~ /^n/ ? 0.001 : u ~ /^(us|usecond)$/ ? 1 : u ~ /^m/ ? 1000 : u ~ /^s/ ? 1e6 : 0.001)
    all[++n] = name; t[n] = v
  }
  END {
    per = n / (steps + 1); first = n - per * steps
    for (i = first + 1; i <= n; i++) { sum[all[i]] += t[i]; cnt[all[i]]++; total += t[i] }
    printf "kernels per step %d, kernel time per step %.1f us\n", per, total / steps
    for (k in sum) printf "%10.1f us/step %6.1f%% %5d/step  %s\n", sum[k] / steps, 100 * sum[k] / total, cnt[k] / steps, k | "sort -rn"
  }' "$csv"
rm -f "$csv"
