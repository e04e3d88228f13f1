#!/usr/bin/env bash
# LLM session restore against re-prefill, measured inside one warm process
# (`samepage generate --session-bench FILE`): the prompt of N token ids is
# prefilled (first uploads, the model hash), saved to FILE (timed), prefilled
# again from an empty cache (timed), and FILE restored into the live model
# three times after the cache rows were zeroed (timed: read, checks, K/V
# upload; the median is reported); the restored logits must equal the
# re-prefilled ones and the uninterrupted run's bit for bit or the row fails. The
# device-memory checkpoint beside it: the caches' filled rows copied into
# runtime tensors after the prefill (checkpoint ms, allocation included) and copied back over zeroed rows (median of
# 3; its logits must equal the re-prefilled ones too). Prints a markdown table
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
#        the guest's default when unset)
# Plain bash and awk (the device machine may lack Python).
# The H200 rows: SAMEPAGE=build-device/samepage BATCH=512 bench/session_bench.sh \
#   synth:llama-3.2-1b:bf16 16 cpu,cuda 24 512 4096
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
samepage="${SAMEPAGE:-$root/build/samepage}"
model="${1:-}"
threads="${2:-$(nproc)}"
backends="${3:-cpu}"
shift $(( $# < 3 ? $# : 3 ))
if [ $# -gt 0 ]; then lengths=("$@"); else lengths=(24 512 4096); fi
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
# A field of a flat JSON line; empty when the line lacks it (an older guest).
field() { { grep -o "\"$1\": [^,}]*" <<<"$2" || true; } | head -n 1 | sed 's/^[^:]*: //; s/"//g'; }
echo "model $(basename "$model"), $threads CPU threads, batch ${BATCH:-default}; one warm process per row, restore ms: median of 3"
echo "| backend | context tokens | file size | save ms | restore ms | first restore ms | re-prefill ms | re-prefill / restore | checkpoint ms | checkpoint restore ms | re-prefill / checkpoint restore | restored logits |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
status=0
for backend in ${backends//,/ }; do
  for n in "${lengths[@]}"; do
    # BOS, then N - 1 ordinary ids (the content does not matter for timing).
    ids="1$(seq 0 $((n - 2)) | awk '{ printf " %d", 200 + $1 % 3000 }')"
    ctx=$(( n + 1 > 4096 ? n + 64 : 4096 ))
    if ! line="$("$samepage" generate -m "$model" --backend "$backend" -t "$threads" "${batch[@]}" -c "$ctx" --ids \
                  -p "$ids" --session-bench "$tmp/s.st" --json 2>"$tmp/err")"; then
      echo "| $backend | $n | failed: $(tail -n 1 "$tmp/err") |"
      status=1
      [ -z "$line" ] && continue
    fi
    [ -n "${OUT:-}" ] && echo "{\"backend\": \"$backend\", \"row\": $line}" >> "$OUT/session_bench.jsonl"
    cp_equal="$(field checkpoint_logits_equal "$line")"  # absent from an older guest's line
    equal="$(field logits_equal "$line"),$(field uninterrupted_equal "$line"),${cp_equal:-absent}"
    awk -v b="$backend" -v n="$(field n_tokens "$line")" -v bytes="$(field file_bytes "$line")" \
        -v save="$(field save_ms "$line")" -v restore="$(field restore_ms "$line")" \
        -v first="$(field restore_first_ms "$line")" -v re="$(field reprefill_ms "$line")" \
        -v cp="$(field checkpoint_ms "$line")" -v cpr="$(field checkpoint_restore_ms "$line")" \
        -v eq="$([[ "$equal" == true,true,true || "$equal" == true,true,absent ]] && echo "bitwise equal" ||
                 echo "DIFFER (vs re-prefill, vs uninterrupted, checkpoint vs re-prefill: $equal)")" 'BEGIN {
      printf "| %s | %d | %.2f MB | %.1f | %.2f | %.2f | %.1f | %.0fx | %.3f | %.3f | %.0fx | %s |\n", b, n, bytes / 1e6,
             save, restore, first, re, re / restore, cp, cpr, (cpr > 0 ? re / cpr : 0), eq
    }'
  done
done
exit "$status"
