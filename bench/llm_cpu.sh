#!/usr/bin/env bash
# The LLM guest against llama.cpp on the same GGUF file and thread count, in
# one run, interleaved so both see the same machine: prefill (a 64-token
# prompt) and decode (64 tokens) tokens/s, and the share of each decode token
# spent in guest code. Prints a markdown row per engine for bench/RESULTS.md.
#   bench/llm_cpu.sh [MODEL.gguf] [THREADS] [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-$("$root/scripts/fetch_model.sh")}"
threads="${2:-$(nproc)}"
rounds="${3:-5}"
samepage="$root/build/samepage"
llama_bin="$("$root/bench/build_llama_cpp.sh")"
# 64 prompt tokens of plain English (counted by the guest's tokenizer below).
prompt="The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined movable metal type, oil-based ink and a wooden press adapted from wine making. Within fifty years printers worked in more than two hundred cities across Europe, and their books carried new ideas about science, religion and government faster than any scribe"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for ((r = 0; r < rounds; r++)); do
  "$samepage" generate -m "$model" -p "$prompt" -n 64 --ignore-eos -t "$threads" --json 2>/dev/null | tail -n 1 >> "$tmp/samepage.jsonl"
  "$llama_bin/llama-bench" -m "$model" -t "$threads" -p 64 -n 64 -r 1 -o json 2>/dev/null > "$tmp/llama.$r.json"
done
python3 - "$tmp" "$rounds" "$threads" "$model" <<'PY'
import json, statistics, sys, os
tmp, rounds, threads, model = sys.argv[1], int(sys.argv[2]), sys.argv[3], os.path.basename(sys.argv[4])
ours = [json.loads(l) for l in open(os.path.join(tmp, "samepage.jsonl")) if l.startswith("{")]
pp, tg = [], []
for r in range(rounds):
    for t in json.load(open(os.path.join(tmp, f"llama.{r}.json"))):
        (pp if t["n_prompt"] > 0 else tg).append(t["avg_ts"])
med = statistics.median
print(f"model {model}, {threads} threads, median of {rounds} interleaved rounds")
print("| engine | prompt tokens | prefill tok/s | decode tok/s | guest share of a decode token |")
print("|---|---|---|---|---|")
print(f"| samepage (LLM guest, CPU backend) | {ours[0]['prompt_tokens']} | {med(o['prefill_tok_s'] for o in ours):.1f} | "
      f"{med(o['decode_tok_s'] for o in ours):.1f} | {100 * med(o['guest_share'] for o in ours):.2f}% |")
print(f"| llama.cpp (llama-bench) | 64 | {med(pp):.1f} | {med(tg):.1f} | native |")
print(f"decode speedup {med(o['decode_tok_s'] for o in ours) / med(tg):.2f}x, prefill {med(o['prefill_tok_s'] for o in ours) / med(pp):.2f}x")
PY
