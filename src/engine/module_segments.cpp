// Section readers for what fills a module at instantiation and what runs:
// element segments, datacount, function bodies and data segments.
#include "engine/module_sections.h"
#include "engine/wasm_types.h"

namespace samepage {
namespace {

Status read_function_index(WasmReader& r, const ModuleState& state) {
  const size_t at = r.offset();
  uint32_t index = 0;
  SP_TRY(r.read_u32(index));
  if (index >= state.func_type_indices.size()) {
    return r.error_at(at, "function index " + std::to_string(index) + " out of range (module has " +
                              std::to_string(state.func_type_indices.size()) + " functions)");
  }
  return Status::ok();
}

// Local declarations are (count, type) groups; `n_locals` starts at the
// parameter count and ends as the size of the local index space.
Status read_locals(WasmReader& body, ModuleState& state, const std::string& what, uint64_t& n_locals) {
  uint32_t n_groups = 0;
  SP_TRY(body.read_count(n_groups, "local declaration", 2));
  for (uint32_t g = 0; g < n_groups; ++g) {
    const size_t at = body.offset();
    uint32_t n = 0;
    SP_TRY(body.read_u32(n));
    n_locals += n;
    if (n_locals > UINT32_MAX) return body.error_at(at, what + ": more than 2^32 - 1 locals");
    ValType type{};
    SP_TRY(read_val_type(body, type, state.info.features));
  }
  return Status::ok();
}

}  // namespace

// Element segment flags: bit 0 passive or declarative, bit 1 explicit table
// (active) or declarative (non-active), bit 2 expressions instead of indices.
Status parse_element_section(WasmReader& r, ModuleState& state) {
  FeatureSet& features = state.info.features;
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "element segment", 2));
  for (uint32_t i = 0; i < count; ++i) {
    const std::string what = "element segment " + std::to_string(i);
    const size_t at = r.offset();
    uint32_t flags = 0;
    SP_TRY(r.read_u32(flags));
    if (flags > 7) return r.error_at(at, what + ": unknown flags " + std::to_string(flags));
    const bool active = (flags & 1) == 0;
    const bool uses_exprs = flags & 4;
    if (flags != 0) features.bulk_memory = true;
    if (flags == 3 || flags == 7) features.reference_types = true;  // declarative
    if (active) {
      uint32_t table = 0;
      if (flags & 2) SP_TRY(r.read_u32(table));
      if (table >= state.n_tables) {
        return r.error_at(at, what + ": table index " + std::to_string(table) + " out of range (module has " +
                                  std::to_string(state.n_tables) + " tables)");
      }
      if (table != 0) features.reference_types = true;
      SP_TRY(read_const_expr(r, state, what + " offset"));
    }
    if (!active || (flags & 2)) {  // an element kind or reference type byte follows
      if (uses_exprs) {
        ValType type{};
        SP_TRY(read_ref_type(r, type, features));
      } else {
        const size_t kind_at = r.offset();
        uint8_t elem_kind = 0;
        SP_TRY(r.read_u8(elem_kind));
        if (elem_kind != 0) return r.error_at(kind_at, what + ": unknown element kind " + hex_byte(elem_kind));
      }
    }
    uint32_t n_elems = 0;
    SP_TRY(r.read_count(n_elems, "element"));
    for (uint32_t k = 0; k < n_elems; ++k) {
      if (uses_exprs) {
        SP_TRY(read_const_expr(r, state, what + " element " + std::to_string(k)));
      } else {
        SP_TRY(read_function_index(r, state));
      }
    }
  }
  state.n_elem_segments = count;
  return Status::ok();
}

Status parse_datacount_section(WasmReader& r, ModuleState& state) {
  SP_TRY(r.read_u32(state.data_count));
  state.has_data_count = true;
  state.info.features.bulk_memory = true;
  return Status::ok();
}

Status parse_code_section(WasmReader& r, ModuleState& state) {
  const size_t at = r.offset();
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "function body", 2));
  if (count != state.info.n_functions) {
    return r.error_at(at, "function and code section counts differ: " + std::to_string(state.info.n_functions) +
                              " functions declared, " + std::to_string(count) + " bodies");
  }
  state.has_code_section = true;
  const CodeContext ctx = state.code_context();
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t func_index = state.n_imported_functions + i;
    const std::string what = "function " + std::to_string(func_index);
    uint32_t body_size = 0;
    SP_TRY(r.read_u32(body_size));
    if (body_size > r.remaining()) {
      return r.error(what + ": body size " + std::to_string(body_size) + " exceeds the " +
                     std::to_string(r.remaining()) + " bytes left in the section");
    }
    WasmReader body(nullptr, nullptr, 0, "");
    SP_TRY(r.sub_reader(body_size, "code section", body));
    uint64_t n_locals = state.info.types[state.func_type_indices[func_index]].params.size();
    SP_TRY(read_locals(body, state, what, n_locals));
    SP_TRY(scan_expression(body, ctx, ExprKind::ExprKind_function_body, n_locals, what, state.info.features));
  }
  return Status::ok();
}

// Data segment flags: 0 active in memory 0, 1 passive, 2 active with an
// explicit memory index.
Status parse_data_section(WasmReader& r, ModuleState& state) {
  const size_t at = r.offset();
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "data segment", 2));
  if (state.has_data_count && count != state.data_count) {
    return r.error_at(at, "data section has " + std::to_string(count) +
                              " segments but the datacount section says " + std::to_string(state.data_count));
  }
  state.has_data_section = true;
  for (uint32_t i = 0; i < count; ++i) {
    const std::string what = "data segment " + std::to_string(i);
    const size_t seg_at = r.offset();
    uint32_t flags = 0;
    SP_TRY(r.read_u32(flags));
    if (flags > 2) return r.error_at(seg_at, what + ": unknown flags " + std::to_string(flags));
    if (flags == 1) {
      state.info.features.bulk_memory = true;
    } else {
      uint32_t memory = 0;
      if (flags == 2) SP_TRY(r.read_u32(memory));
      if (memory >= state.memory_is64.size()) {
        return r.error_at(seg_at, what + ": memory index " + std::to_string(memory) + " out of range (module has " +
                                      std::to_string(state.memory_is64.size()) + " memories)");
      }
      SP_TRY(read_const_expr(r, state, what + " offset"));
    }
    const size_t len_at = r.offset();
    uint32_t n_bytes = 0;
    SP_TRY(r.read_u32(n_bytes));
    if (n_bytes > r.remaining()) {
      return r.error_at(len_at, what + ": size " + std::to_string(n_bytes) + " exceeds the " +
                                    std::to_string(r.remaining()) + " bytes left in the section");
    }
    SP_TRY(r.skip(n_bytes));
    state.info.data_bytes += n_bytes;
  }
  return Status::ok();
}

}  // namespace samepage
