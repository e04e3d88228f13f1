#!/usr/bin/env bash
# On the device machine, from the tree scripts/device_prepare.sh built
# (build-device, .devcarry): prefill tokens/s of the synthetic Llama-3.2-1B
# (BF16 and Q4_0) on the CUDA backend at 128, 512 and 2048 prompt tokens.
# Each run is `samepage generate --ids -n 1 --json --warmup`: the prompt runs
# once untimed (step recording, graph capture, weight upload), then again
# timed; prefill_tok_s is prompt tokens over the timed forward steps alone.
# One cold run (no --warmup) per model shows the first-prompt cost.
#   SAMEPAGE_PREFILL_REPEATS  runs per size (default 3)
#   SAMEPAGE_PREFILL_SIZES    prompt lengths (default "128 512 2048")
#   SAMEPAGE_PREFILL_BATCHES  --batch values (default "512")
#   SAMEPAGE_PREFILL_DTYPES   model dtypes (default "bf16 q4_0")
#   SAMEPAGE_PREFILL_SHAPE    synthetic shape (default llama-3.2-1b)
#   SAMEPAGE_PREFILL_BACKEND  backend (default cuda; cpu to try the script anywhere)
# Logs under $OUT (the device tool's folder) or /tmp/samepage-out.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-device"
out="${OUT:-/tmp/samepage-out}"
mkdir -p "$out"
export PATH="$root/.devcarry/bin:$PATH"
export SAMEPAGE_CACHE_DIR=/tmp/samepage-cache
source "$root/scripts/cuda_libs.sh"  # libcublas.so.13
repeats="${SAMEPAGE_PREFILL_REPEATS:-3}"
sizes="${SAMEPAGE_PREFILL_SIZES:-128 512 2048}"
batches="${SAMEPAGE_PREFILL_BATCHES:-512}"
dtypes="${SAMEPAGE_PREFILL_DTYPES:-bf16 q4_0}"
shape="${SAMEPAGE_PREFILL_SHAPE:-llama-3.2-1b}"
backend="${SAMEPAGE_PREFILL_BACKEND:-cuda}"

field() { grep '^{' "$1" | tail -1 | sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p"; }

for dtype in $dtypes; do
  model="/tmp/synth-$shape-$dtype.gguf"
  if [ ! -s "$model" ]; then
    "$build/samepage-synth-model" --shape "$shape" --dtype "$dtype" --threads "$(nproc)" -o "$model" >/dev/null ||
      { echo "$dtype: writing the model failed"; continue; }
  fi
  for n in $sizes; do
    ids="$(seq -s ' ' 1 "$n")"
    for batch in $batches; do
      rates=() ms="" cold=""
      for r in $(seq 1 "$repeats") cold; do
        log="$out/prefill-$dtype-$n-b$batch-$r.txt"
        warm=(--warmup)
        [ "$r" = cold ] && warm=()
        timeout 300 "$build/samepage" generate -m "$model" --ids -p "$ids" -n 1 -c $((n + 16)) --batch "$batch" \
          --backend "$backend" --json "${warm[@]}" >"$log" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then echo "$dtype n=$n batch=$batch run $r: exit $rc: $(head -c 300 "$log")"; continue; fi
        if [ "$r" = cold ]; then
          cold="$(field "$log" prefill_tok_s) tok/s cold ($(field "$log" prefill_ms) ms)"
        else
          rates+=("$(field "$log" prefill_tok_s)")
          ms="$(field "$log" prefill_ms)"
        fi
      done
      echo "$shape $dtype $backend prefill n=$n batch=$batch: ${rates[*]:-none} tok/s (last ${ms:-?} ms); ${cold:-cold failed}"
    done
  done
done
