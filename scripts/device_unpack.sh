#!/usr/bin/env bash
# On the device machine: the tree scripts/device_prepare.sh staged as
# build-device-carry (no object files) becomes build-device, where the
# device scripts look. A later call that carries no new tree keeps the one
# already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -d "$root/build-device-carry" ]; then
  rm -rf "$root/build-device"
  mv "$root/build-device-carry" "$root/build-device"
fi
[ -x "$root/build-device/samepage" ] || { echo "no build-device here: carry build-device-carry (scripts/device_prepare.sh)" >&2; exit 1; }
