// SHA-256 for the content hash a session file records of its model: the
// engine's implementation (src/engine/sha256.cpp), compiled into the guest
// too — on wasm32 it takes its portable path (the SHA-extension path is
// x86 only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/sha256.h"

namespace llm {

using samepage::Sha256;

// 64 lowercase hex digits.
std::string sha256_hex(const uint8_t* data, size_t n_bytes);

}  // namespace llm
