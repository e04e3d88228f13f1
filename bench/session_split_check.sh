#!/usr/bin/env bash
# Saved mid-generation and continued, against one uninterrupted run: prints
# both id lists and "identical" or "differ". The save and the load may use
# different backends (a session made on the CPU restored on CUDA).
#   bench/session_split_check.sh MODEL.gguf SAVE_BACKEND LOAD_BACKEND [N] [K] [EXTRA FLAGS...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="$1" save_be="$2" load_be="$3" n="${4:-32}" k="${5:-12}"
shift $(( $# < 5 ? $# : 5 ))
samepage="${SAMEPAGE:-$root/build/samepage}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ids="1 504 3575 282 4649 314"
whole="$("$samepage" generate -m "$model" --backend "$load_be" --ids -p "$ids" -n "$n" --ignore-eos "$@")"
first="$("$samepage" generate -m "$model" --backend "$save_be" --ids -p "$ids" -n "$k" --ignore-eos "$@" \
  --save-session "$tmp/s.st")"
rest="$("$samepage" generate -m "$model" --backend "$load_be" --ids -n $((n - k)) --ignore-eos "$@" \
  --load-session "$tmp/s.st")"
echo "whole ($load_be):            $whole"
echo "split ($save_be -> $load_be): $first | $rest"
if [ "$whole" = "$first $rest" ]; then echo identical; else echo differ; fi
