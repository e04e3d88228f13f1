#!/usr/bin/env bash
# Time from `samepage generate` start to its first generated token (-n 1),
# both paths: warm (the build's ahead-of-time build/guests/llm.so) and cold
# (no llm.so and an empty module cache: translated and compiled once, as a
# fresh install would on first use). Median of ROUNDS warm runs.
#   bench/llm_first_token.sh [MODEL.gguf] [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-$("$root/scripts/fetch_model.sh")}"
rounds="${2:-7}"
samepage="$root/build/samepage"
tmp="$(mktemp -d)"
aot="$root/build/guests/llm.so"
trap 'rm -rf "$tmp"; [[ -f "$tmp.llm.so" ]] && mv "$tmp.llm.so" "$aot"' EXIT
wall() {  # seconds, from nanoseconds
  local t0 t1
  t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.4f\n", ns / 1e9 }'
}
warm=()
for ((r = 0; r < rounds; r++)); do
  warm+=("$(wall "$samepage" generate -m "$model" -p "The capital of France is" -n 1)")
done
mv "$aot" "$tmp.llm.so"
cold="$(SAMEPAGE_CACHE_DIR="$tmp/cache" wall "$samepage" generate -m "$model" -p "The capital of France is" -n 1)"
cached="$(SAMEPAGE_CACHE_DIR="$tmp/cache" wall "$samepage" generate -m "$model" -p "The capital of France is" -n 1)"
printf '%s\n' "${warm[@]}" | sort -n | awk -v cold="$cold" -v cached="$cached" '{ a[NR] = $1 }
  END { printf "| warm (build/guests/llm.so) | %.3f s (median of %d) |\n| cold (no llm.so, empty cache: compiled once) | %.3f s |\n| module cache only (no llm.so) | %.3f s |\n", a[int((NR + 1) / 2)], NR, cold, cached }'
