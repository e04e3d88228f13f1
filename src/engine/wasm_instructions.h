// Walks the instructions of a function body or a constant expression:
// decodes every immediate (so that the walk stays in step), checks the
// indices it meets, and records the post-MVP features it sees.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/wasm_reader.h"
#include "samepage/module_info.h"

namespace samepage {

// The module's index spaces as far as they are known when code is read.
struct CodeContext {
  const std::vector<FuncType>* types = nullptr;
  const std::vector<uint32_t>* func_type_indices = nullptr;  // (imported + defined functions)
  const std::vector<bool>* memory_is64 = nullptr;            // (imported + defined memories)
  uint32_t n_tables = 0;
  uint32_t n_globals = 0;
  uint32_t n_tags = 0;
  uint32_t n_elem_segments = 0;
  bool has_data_count = false;  // memory.init and data.drop need the datacount section
  uint32_t n_data_segments = 0;
};

enum class ExprKind : uint8_t {
  ExprKind_function_body,  // must end exactly at the end of the reader
  ExprKind_const,          // global initializers, segment offsets, element expressions
};

// Decodes instructions up to and including the `end` that closes the
// expression. `what` names it in messages ("function 12"); `n_locals`
// counts parameters plus declared locals (0 for constant expressions).
Status scan_expression(WasmReader& reader, const CodeContext& ctx, ExprKind kind,
                       uint64_t n_locals, const std::string& what, FeatureSet& features);

}  // namespace samepage
