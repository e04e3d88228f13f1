#!/usr/bin/env bash
# The main job on its default: set up, build, and run the default guest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
exec "$root/build/samepage" run --timing "$root/build/guests/hello.wasm" -- "$@"
