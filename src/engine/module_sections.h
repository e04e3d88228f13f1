// The section readers of parse_module. Each reads one section's payload and
// adds what it finds to a ModuleState; later sections check their indices
// against the index spaces that earlier ones built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/wasm_instructions.h"
#include "engine/wasm_reader.h"
#include "samepage/module_info.h"

namespace samepage {

struct ModuleState {
  ModuleInfo info;
  std::vector<uint32_t> func_type_indices;  // type of each function (imported + defined)
  std::vector<bool> memory_is64;            // (imported + defined memories)
  uint32_t n_imported_functions = 0;
  uint32_t n_tables = 0;                    // imported + defined, likewise below
  uint32_t n_globals = 0;
  uint32_t n_tags = 0;
  uint32_t n_elem_segments = 0;
  bool has_code_section = false;
  bool has_data_count = false;
  uint32_t data_count = 0;
  bool has_data_section = false;

  CodeContext code_context() const;
};

// Declarations (module_sections.cpp).
Status parse_type_section(WasmReader& r, ModuleState& state);
Status parse_import_section(WasmReader& r, ModuleState& state);
Status parse_function_section(WasmReader& r, ModuleState& state);
Status parse_table_section(WasmReader& r, ModuleState& state);
Status parse_memory_section(WasmReader& r, ModuleState& state);
Status parse_tag_section(WasmReader& r, ModuleState& state);
Status parse_global_section(WasmReader& r, ModuleState& state);
Status parse_export_section(WasmReader& r, ModuleState& state);
Status parse_start_section(WasmReader& r, ModuleState& state);

// Segments and code (module_segments.cpp).
Status parse_element_section(WasmReader& r, ModuleState& state);
Status parse_datacount_section(WasmReader& r, ModuleState& state);
Status parse_code_section(WasmReader& r, ModuleState& state);
Status parse_data_section(WasmReader& r, ModuleState& state);

// A constant expression (initializer or offset), walked like code.
Status read_const_expr(WasmReader& r, ModuleState& state, const std::string& what);

}  // namespace samepage
