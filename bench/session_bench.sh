#!/usr/bin/env bash
# LLM session restore against re-prefill, measured inside one warm process
# (`samepage generate --session-bench FILE`): the prompt of N token ids is
# prefilled (first uploads, the model hash), saved to FILE (timed), prefilled
# again from an empty cache (timed), and FILE restored into the live model
# three times after the cache rows were zeroed (timed: read, checks, K/V
# upload; the median is reported); the restored logits must equal the
# re-prefilled ones bit for bit or the row fails. Prints a markdown table
# for bench/RESULTS.md; the JSON lines go to $OUT/session_bench.jsonl when
# $OUT is set.
#   bench/session_bench.sh [MODEL] [THREADS] [BACKENDS] [N...]
#     MODEL     a GGUF file, or synth:SHAPE:DTYPE to write a synthetic model
#               first with samepage-synth-model (next to $SAMEPAGE), e.g.
#               synth:llama-3.2-1b:bf16 on the device machine; default the
#               real SmolLM2 (scripts/fetch_model.sh)
#     THREADS   CPU backend threads (default nproc)
#     BACKENDS  cpu, cuda or both as cpu,cuda (default cpu)
#     N...      context lengths (default 24 512 4096; -c is raised past 4096)
#   env: SAMEPAGE (default build/samepage), BATCH (prefill tokens per step,
#        the guest's default when unset), ROUNDS (processes per row, default 1;
#        medians over them)
# The H200 rows: SAMEPAGE=build-device/samepage bench/session_bench.sh \
#   synth:llama-3.2-1b:bf16 16 cpu,cuda 24 512 4096
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
samepage="${SAMEPAGE:-$root/build/samepage}"
model="${1:-}"
threads="${2:-$(nproc)}"
backends="${3:-cpu}"
shift $(( $# < 3 ? $# : 3 ))
if [ $# -gt 0 ]; then lengths=("$@"); else lengths=(24 512 4096); fi
rounds="${ROUNDS:-1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -z "$model" ]; then
  model="$("$root/scripts/fetch_model.sh")"
elif [[ "$model" == synth:* ]]; then
  IFS=: read -r _ shape dtype <<<"$model"
  synth="$(dirname "$samepage")/samepage-synth-model"
  "$synth" --shape "$shape" --dtype "$dtype" --threads "$(nproc)" -o "$tmp/$shape-$dtype.gguf" >/dev/null
  model="$tmp/$shape-$dtype.gguf"
fi
batch=()
[ -n "${BATCH:-}" ] && batch=(--batch "$BATCH")
jsonl="$tmp/rows.jsonl"
: > "$jsonl"
for backend in ${backends//,/ }; do
  for n in "${lengths[@]}"; do
    # BOS, then N - 1 ordinary ids (the content does not matter for timing).
    ids="1$(python3 -c "print(''.join(' %d' % (200 + i % 3000) for i in range($n - 1)))")"
    ctx=$(( n + 1 > 4096 ? n + 64 : 4096 ))
    for ((r = 0; r < rounds; r++)); do
      line="$("$samepage" generate -m "$model" --backend "$backend" -t "$threads" "${batch[@]}" -c "$ctx" --ids \
                -p "$ids" --session-bench "$tmp/s.st" --json 2>"$tmp/err")" || {
        echo "session bench failed: $backend, $n tokens: $(tail -n 3 "$tmp/err")" >&2
        exit 1
      }
      echo "{\"backend\": \"$backend\", \"round\": $r, \"row\": $line}" >> "$jsonl"
    done
  done
done
[ -n "${OUT:-}" ] && cp "$jsonl" "$OUT/session_bench.jsonl"
python3 - "$jsonl" "$threads" "$model" "$rounds" "${BATCH:-default}" <<'PY'
import json, statistics, sys, os
rows = [json.loads(l) for l in open(sys.argv[1])]
threads, model, rounds, batch = sys.argv[2], os.path.basename(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
med = statistics.median
print(f"model {model}, {threads} CPU threads, batch {batch}, KV {rows[0]['row']['kv_dtype']}, "
      f"one warm process per row ({rounds} round(s), medians), restore: median of {rows[0]['row']['restore_reps']}")
print("| backend | context tokens | file size | save ms | restore ms | first restore ms | re-prefill ms | re-prefill / restore | restored logits |")
print("|---|---|---|---|---|---|---|---|---|")
keys = []
for r in rows:
    k = (r["backend"], r["row"]["n_tokens"])
    if k not in keys: keys.append(k)
for backend, n in keys:
    rs = [r["row"] for r in rows if (r["backend"], r["row"]["n_tokens"]) == (backend, n)]
    m = lambda f: med(x[f] for x in rs)
    equal = "bitwise equal" if all(x["logits_equal"] for x in rs) else "DIFFER"
    print(f"| {backend} | {n} | {m('file_bytes') / 1e6:.2f} MB | {m('save_ms'):.1f} | {m('restore_ms'):.2f} | "
          f"{m('restore_first_ms'):.2f} | {m('reprefill_ms'):.1f} | {m('reprefill_ms') / m('restore_ms'):.0f}x | {equal} |")
PY
