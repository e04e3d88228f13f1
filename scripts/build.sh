#!/usr/bin/env bash
# Configures and builds samepage (host runtime, CLI, tests, guests) in build/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${SAMEPAGE_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C "$build" -j"$(nproc)"
