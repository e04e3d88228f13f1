#!/usr/bin/env bash
# Here (Debian): builds a Release tree for the device machine and stages the
# tools it lacks (wasm2c, wat2wasm, wasm-objdump) in .devcarry/bin. The
# device call then carries build-device and .devcarry and runs
# scripts/device_run.sh. Nothing in the tree names this machine's paths:
# wasm-rt.h travels beside the library (build-device/wasm-rt/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build-device" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$root/build-device" -j"$(nproc)"
rm -rf "$root/.devcarry" && mkdir -p "$root/.devcarry/bin"
cp /usr/bin/wasm2c /usr/bin/wat2wasm /usr/bin/wasm-objdump "$root/.devcarry/bin/"
du -sh "$root/build-device" "$root/.devcarry"
