#!/usr/bin/env bash
# Times a cold `samepage run` (translate + compile) against a warm one (cache
# hit) for each given guest, with a fresh cache directory. Prints one markdown
# row per guest for bench/RESULTS.md.
#   bench/cache_timing.sh [BUILD_DIR] [GUEST...]   (default: build, hello file_reader)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
shift || true
guests=("$@")
((${#guests[@]})) || guests=(hello file_reader)
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT

now_ms() { date +%s%3N; }
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"

echo "| date | machine | commit | guest (wasm bytes) | cold run ms | warm run ms | cold: translate / compile ms |"
echo "|---|---|---|---|---|---|---|"
for g in "${guests[@]}"; do
  wasm="$build/guests/$g.wasm"
  t0=$(now_ms)
  cold=$("$build/samepage" run --timing --cache-dir "$cache" "$wasm" 2>&1 >/dev/null | grep 'samepage: load' || true)
  t1=$(now_ms)
  "$build/samepage" run --timing --cache-dir "$cache" "$wasm" >/dev/null 2>&1 || true
  t2=$(now_ms)
  tr=$(sed -n 's/.*translate \([0-9.]*\) ms.*/\1/p' <<<"$cold")
  cc=$(sed -n 's/.*compile \([0-9.]*\) ms.*/\1/p' <<<"$cold")
  echo "| $(date -u +%F) | $machine | $commit | $g ($(stat -c %s "$wasm")) | $((t1 - t0)) | $((t2 - t1)) | $tr / $cc |"
done
