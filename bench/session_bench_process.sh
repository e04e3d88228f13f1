#!/usr/bin/env bash
# Session snapshots of the LLM guest against re-prefill, at several context
# lengths: a prompt of N token ids is prefilled and saved (--save-session),
# then restored (--load-session). Reports the median over ROUNDS of the
# prefill of N tokens (what a restore replaces), the save and the restore
# (read, check, hash, K/V rows written back), and the file size. Prints a
# markdown table for bench/RESULTS.md.
# One process per save and per restore, so a restore includes the new
# process's first upload and model hash (bench/session_bench.sh measures
# inside one warm process).
#   bench/session_bench_process.sh [MODEL.gguf] [THREADS] [ROUNDS] [BACKEND] [N...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-$("$root/scripts/fetch_model.sh")}"
threads="${2:-$(nproc)}"
rounds="${3:-3}"
backend="${4:-cpu}"
shift $(( $# < 4 ? $# : 4 ))
if [ $# -gt 0 ]; then lengths=("$@"); else lengths=(24 512 2048); fi
samepage="${SAMEPAGE:-$root/build/samepage}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for n in "${lengths[@]}"; do
  # BOS, then N - 1 ordinary ids (the content does not matter for timing).
  ids="1$(python3 -c "print(''.join(' %d' % (200 + i % 3000) for i in range($n - 1)))")"
  for ((r = 0; r < rounds; r++)); do
    "$samepage" generate -m "$model" --backend "$backend" -t "$threads" --ids -p "$ids" -n 1 --ignore-eos \
      --save-session "$tmp/s.st" --json 2>/dev/null | tail -n 1 > "$tmp/save.$n.$r.json"
    stat -c %s "$tmp/s.st" > "$tmp/size.$n"
    "$samepage" generate -m "$model" --backend "$backend" -t "$threads" --ids --load-session "$tmp/s.st" -n 1 \
      --ignore-eos --json 2>/dev/null | tail -n 1 > "$tmp/load.$n.$r.json"
  done
done
python3 - "$tmp" "$rounds" "$threads" "$model" "$backend" "${lengths[@]}" <<'PY'
import json, statistics, sys, os
tmp, rounds, threads, model, backend = sys.argv[1], int(sys.argv[2]), sys.argv[3], os.path.basename(sys.argv[4]), sys.argv[5]
med = statistics.median
print(f"model {model}, backend {backend}, {threads} threads, f16 KV cache, median of {rounds} rounds")
print("| context tokens | file size | save ms | restore ms | of which model hash ms | re-prefill ms | re-prefill / restore |")
print("|---|---|---|---|---|---|---|")
for n in sys.argv[6:]:
    save = [json.load(open(os.path.join(tmp, f"save.{n}.{r}.json"))) for r in range(rounds)]
    load = [json.load(open(os.path.join(tmp, f"load.{n}.{r}.json"))) for r in range(rounds)]
    assert all(s["n_past"] == int(n) for s in save), "saved n_past differs from the context"
    size = int(open(os.path.join(tmp, f"size.{n}")).read())
    prefill, saved, restored = med(s["prefill_ms"] for s in save), med(s["session_save_ms"] for s in save), med(l["session_load_ms"] for l in load)
    hashed = med(l["session_hash_ms"] for l in load)
    print(f"| {n} | {size / 1e6:.2f} MB | {saved:.1f} | {restored:.1f} | {hashed:.1f} | {prefill:.1f} | {prefill / restored:.1f}x |")
PY
