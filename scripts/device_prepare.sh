#!/usr/bin/env bash
# Here (Debian): builds a Release tree for the device machine and stages the
# tools it lacks (wasm2c, wat2wasm, wasm-rt.h) in .devcarry/. The device
# call then carries build-device and .devcarry and runs scripts/device_run.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build-device" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$root/build-device" -j"$(nproc)"
rm -rf "$root/.devcarry" && mkdir -p "$root/.devcarry/bin" "$root/.devcarry/include"
cp /usr/bin/wasm2c /usr/bin/wat2wasm /usr/bin/wasm-objdump "$root/.devcarry/bin/"
cp "$(dirname "$(command -v wasm2c)")/../include/wasm-rt.h" "$root/.devcarry/include/"
du -sh "$root/build-device" "$root/.devcarry"
