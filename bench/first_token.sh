#!/usr/bin/env bash
# Time to the first generated token as a user sees it: from starting
# `samepage generate` to the first byte it writes to stdout (generate
# flushes each token as it is made; pass --ids so that the first byte is
# the first token's id, not text held back for a stop string), and to the
# process's exit, which adds its teardown (a backend freeing device memory
# and unregistering guest pages, the guest's exit).
#   bench/first_token.sh SAMEPAGE [generate args...]
# prints "FIRST_MS EXIT_MS", or fails with generate's status (its stderr shown).
set -uo pipefail
samepage="$1"
shift
times="$(mktemp)"
err="$(mktemp)"
trap 'rm -f "$times" "$err"' EXIT
t0=$(date +%s%N)
"$samepage" generate "$@" 2>"$err" | {
  IFS= read -r -n1 _
  t1=$(date +%s%N)
  cat >/dev/null
  t2=$(date +%s%N)
  echo "$(((t1 - t0) / 1000000)) $(((t2 - t0) / 1000000))" >"$times"
}
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  cat "$err" >&2
  exit "$rc"
fi
cat "$times"
