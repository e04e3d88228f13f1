#!/bin/sh
# Snapshot save/restore time and file size: bench/snapshot.sh BUILD_DIR [MIB=64] [ROUNDS=5]
# (the counter guest grown by MIB MiB, every other 64 KiB page zero; RESULTS.md "Guest snapshots").
set -eu
build="${1:?usage: bench/snapshot.sh BUILD_DIR [MIB] [ROUNDS]}"
mib="${2:-64}"
rounds="${3:-5}"
ninja -C "$build" snapshot_bench guest_snapshot_counter >/dev/null
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
head -c 8192 /dev/urandom > "$data/blob.bin"
"$build/bench/snapshot_bench" "$build/guests" "$data" "$mib" "$rounds" "$data"
