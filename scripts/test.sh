#!/usr/bin/env bash
# Every test: set up, build, run the whole suite through CTest, then the
# fuzz and sandbox tests again under AddressSanitizer + UBSan.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
# A private compile cache, so tests measure a cold cache and leave none behind.
export SAMEPAGE_CACHE_DIR="${SAMEPAGE_CACHE_DIR:-$root/build/test-cache}"
# The real model and the Python references (tokenizers, gguf) for the LLM guest's tests.
export SAMEPAGE_MODEL_DIR="$(dirname "$("$root/scripts/fetch_model.sh")")"
export SAMEPAGE_PYTHON="${SAMEPAGE_PYTHON:-$("$root/scripts/pyenv.sh")}"
(cd "$root/build" && ctest --output-on-failure -j"$(nproc)" "$@")

# DESIGN.md §6: every host-API entry point fuzzed under AddressSanitizer; the op
# test over every backend (BackendOps) runs there too. Tests that run guests
# rely on guard-page faults and stay in the plain build; the interrupt tests
# run guests that never fault (signals, no guard pages), so their state
# machine (handles, timers, the gate) is checked here too.
asan="$root/build-asan"
cmake -S "$root" -B "$asan" -G Ninja -DSAMEPAGE_ASAN=ON -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 >/dev/null
ninja -C "$asan" -j"$(nproc)" samepage_tests
(cd "$asan" && ctest --output-on-failure -j"$(nproc)" \
  -R '^(HostApi|HostApiAbi|Reshape\.|Modes/Reshape\.|HostApiSequence|BackendV2|HostApiFuzz|BothModes/HostApiOps|BackendOps/|ModuleParser|ModuleParserMalformed|ModuleRewriter|GlueWriter|ModulePipelineFuzz\.Mutated|ModuleInfoNames|GuestLimits\.|Wasi(Process|Files|Dirs|Sandbox|Memory|Imports|ContextCreate|Limits)|Cpu|Interrupt\.|HostCallGateRules\.|GgufReader\.|Tokenizer(Spm|Special|Unicode|Errors|ChatTemplate|SmolLM2)\.|Pre/TokenizerReference\.|SnapshotFormat\.|Sha256\.)')
