#!/usr/bin/env bash
# On the device machine: where a captured decode step's time goes, kernel by
# kernel, from a CUPTI timeline (bench/cuda_kernel_trace.cpp; no Nsight
# Systems needed). Runs `samepage generate` with graphs (as decode runs) for
# STEPS tokens, splits the trace into steps at each graph launch's
# parameter upload (at host gaps for a graph without one), and for the steps
# after the first few prints each kernel's share of the critical path: its
# end minus the previous kernel's end (PDL lets a kernel start early; what
# it adds to the step is how much later it ends), summed by kernel name, and
# one layer's kernels in order; and the mean time between one step's last
# kernel and the next step's first (the host's share: synchronisation, the
# guest, the graph launch).
# Usage: bench/cuda_decode_timeline.sh MODEL.gguf [STEPS] [generate flags...]  (from the repository root)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="$1"; steps="${2:-64}"; shift 2 || shift $#
lib="$root/build-device/bench/libcuda_kernel_trace.so"
trace="$(mktemp)"
CUDA_INJECTION64_PATH="$lib" SAMEPAGE_TRACE_OUT="$trace" "$root/build-device/samepage" generate -m "$model" --ids \
  -p "1 2 3 4 5 6 7 8" -n "$steps" --ignore-eos --backend cuda "$@" >/dev/null
# Kernel names come mangled from CUPTI: demangled where c++filt is found.
demangle() { if command -v c++filt >/dev/null; then c++filt; else cat; fi; }
demangle <"$trace" | awk -F'\t' '
  function shorten(n) { gsub(/unnamed>::|samepage::cuda::|\(anonymous namespace\)::/, "", n); sub(/^void /, "", n); sub(/\(.*$/, "", n); return n }
  $3 == 0 && $5 ~ /^memcpy:/ { next }  # uploads and copies outside graphs: not a decode step
  { ++r; s[r] = $1; e[r] = $2; name[r] = shorten($5) "<" $4 ">"; copy[r] = $5 ~ /^memcpy:/; copies += copy[r] }
  END {
    # Steps: a graph launch begins with its parameter upload (a copy node),
    # so a new step where a copy follows a kernel; a graph without
    # parameters, where a kernel starts more than 20 us after the last end
    # (tracing can open gaps that wide inside a step: the copies come first).
    n = 0; last = 0
    for (i = 1; i <= r; i++) {
      if (i == 1 || (copies ? copy[i] && !copy[i - 1] : s[i] - last > 20000)) first[++n] = i
      if (e[i] > last) last = e[i]
    }
    first[n + 1] = r + 1
    skip = 4; counted = 0
    for (t = skip + 1; t < n; t++) {  # the last step (argmax of the final token) is like the others; the first few are prompt and warm-up
      a = first[t]; b = first[t + 1] - 1
      step_us = (e[b] - s[a]) / 1000; total += step_us; counted++
      prev = s[a]
      for (i = a; i <= b; i++) {
        c = (e[i] - prev) / 1000; if (c < 0) c = 0
        share[name[i]] += c; calls[name[i]]++; dur[name[i]] += (e[i] - s[i]) / 1000
        if (e[i] > prev) prev = e[i]
        if (t == n - 1 && i - a < 12) order = order sprintf("  %2d %-60s run %7.2f us, adds %7.2f us, starts %+6.2f us after the previous end\n", i - a, name[i], (e[i] - s[i]) / 1000, c, (i > a ? (s[i] - e[i-1]) / 1000 : 0))
      }
      kern += b - a + 1
      if (t + 1 < n) { gap += (s[first[t + 1]] - e[b]) / 1000; gaps++ }
    }
    if (counted == 0) { print "no decode steps found"; exit 1 }
    printf "steps %d, kernels a step %.0f, step %.1f us (%.0f tok/s of GPU time); between steps (host) %.1f us\n", counted, kern / counted, total / counted, 1e6 / (total / counted), gaps ? gap / gaps : 0
    for (k in share) printf "%9.1f us/step %5.1f%%  %4.0f/step  runs %7.2f us each  %s\n", share[k] / counted, 100 * share[k] / total, calls[k] / counted, dur[k] / calls[k], k | "sort -rn"
    close("sort -rn")
    print "the last step, first kernels:"; printf "%s", order
  }'
rm -f "$trace"
