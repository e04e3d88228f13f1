// The module that wasm2c sees. wasm2c 1.0.32 writes export and import names
// verbatim into C comments, and names from the name section into
// identifiers, so no byte a module chose may reach it: exports are renamed
// to generated names (e0, e1, ...), custom sections are dropped, and import
// names must be plain C identifiers (the engine has already matched them
// against the host's imports). The real export names stay in samepage's glue
// table, written as escaped C string literals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "samepage/status.h"

namespace samepage {

// "e<index>": the name wasm2c sees for the export at `index` in the export section.
std::string generated_export_name(size_t index);

// True for [A-Za-z_][A-Za-z0-9_]*: text that is safe anywhere in C source.
bool is_c_identifier(const std::string& name);

// Re-emits `wasm` (already accepted by parse_module) with every export
// renamed to generated_export_name(i) and every custom section dropped; all
// other sections are copied byte for byte. Fails on an import name that is
// not a plain C identifier.
Result<std::vector<uint8_t>> rewrite_for_translation(const std::vector<uint8_t>& wasm);

}  // namespace samepage
