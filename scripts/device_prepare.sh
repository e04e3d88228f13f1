#!/usr/bin/env bash
# Here (Debian): builds a Release tree for the device machine and stages the
# tools it lacks (wasm2c, wat2wasm, wasm-objdump) in .devcarry/bin. The
# device tool carries 64 MiB a call, more than the build tree with its
# objects, so what travels is build-device-carry: the tree without object
# files or CMake's compiler probes (28 MB: room beside it for a second
# library to compare). The device call carries build-device-carry and .devcarry and runs
# scripts/device_unpack.sh (it becomes build-device there) before
# scripts/device_run.sh or scripts/device_cuda.sh. Nothing in the tree names this machine's paths:
# wasm-rt.h travels beside the library (build-device/wasm-rt/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build-device" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$root/build-device" -j"$(nproc)"
rm -rf "$root/.devcarry" && mkdir -p "$root/.devcarry/bin"
cp /usr/bin/wasm2c /usr/bin/wat2wasm /usr/bin/wasm-objdump "$root/.devcarry/bin/"
carry="$root/build-device-carry"
rm -rf "$carry" && mkdir -p "$carry"
tar -C "$root/build-device" --exclude='*.o' --exclude='*.o.d' --exclude='./.ninja_*' --exclude='./CMakeFiles' -cf - . | tar -C "$carry" -xf -
du -sh "$carry" "$root/.devcarry"
