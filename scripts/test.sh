#!/usr/bin/env bash
# Every test: set up, build, run the whole suite through CTest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
# A private compile cache, so tests measure a cold cache and leave none behind.
export SAMEPAGE_CACHE_DIR="${SAMEPAGE_CACHE_DIR:-$root/build/test-cache}"
cd "$root/build"
ctest --output-on-failure -j"$(nproc)" "$@"
