// Section readers for a module's declarations: types, imports, functions,
// tables, memories, tags, globals, exports and the start function.
#include <unordered_set>

#include "engine/module_sections.h"
#include "engine/wasm_types.h"

namespace samepage {
namespace {

Status read_val_types(WasmReader& r, ModuleState& state, std::vector<ValType>& out) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "value type"));
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    ValType type{};
    SP_TRY(read_val_type(r, type, state.info.features));
    out.push_back(type);
  }
  return Status::ok();
}

Status read_type_index(WasmReader& r, const ModuleState& state, uint32_t& out) {
  const size_t at = r.offset();
  SP_TRY(r.read_u32(out));
  if (out >= state.info.types.size()) {
    return r.error_at(at, "type index " + std::to_string(out) + " out of range (module has " +
                              std::to_string(state.info.types.size()) + " types)");
  }
  return Status::ok();
}

Status read_tag_type(WasmReader& r, ModuleState& state, FuncType& out) {
  const size_t at = r.offset();
  uint8_t attribute = 0;
  SP_TRY(r.read_u8(attribute));
  if (attribute != 0) return r.error_at(at, "tag attribute must be 0, not " + hex_byte(attribute));
  uint32_t type_index = 0;
  SP_TRY(read_type_index(r, state, type_index));
  out = state.info.types[type_index];
  state.info.features.exceptions = true;
  ++state.n_tags;
  return Status::ok();
}

}  // namespace

CodeContext ModuleState::code_context() const {
  CodeContext ctx;
  ctx.types = &info.types;
  ctx.func_type_indices = &func_type_indices;
  ctx.memory_is64 = &memory_is64;
  ctx.n_tables = n_tables;
  ctx.n_globals = n_globals;
  ctx.n_tags = n_tags;
  ctx.n_elem_segments = n_elem_segments;
  ctx.has_data_count = has_data_count;
  ctx.n_data_segments = data_count;
  return ctx;
}

Status read_const_expr(WasmReader& r, ModuleState& state, const std::string& what) {
  return scan_expression(r, state.code_context(), ExprKind::ExprKind_const, 0, what, state.info.features);
}

Status parse_type_section(WasmReader& r, ModuleState& state) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "type", 3));
  state.info.types.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = r.offset();
    uint8_t form = 0;
    SP_TRY(r.read_u8(form));
    if (form != 0x60) {
      return r.error_at(at, "type " + std::to_string(i) + ": unsupported type form " + hex_byte(form) +
                                " (expected 0x60, func)");
    }
    FuncType type;
    SP_TRY(read_val_types(r, state, type.params));
    SP_TRY(read_val_types(r, state, type.results));
    if (type.results.size() > 1) state.info.features.multi_value = true;
    state.info.types.push_back(std::move(type));
  }
  return Status::ok();
}

Status parse_import_section(WasmReader& r, ModuleState& state) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "import", 4));
  state.info.imports.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    ImportInfo import;
    SP_TRY(r.read_name(import.module, "import module name"));
    SP_TRY(r.read_name(import.field, "import field name"));
    const size_t at = r.offset();
    uint8_t kind = 0;
    SP_TRY(r.read_u8(kind));
    switch (kind) {
      case 0: {
        uint32_t type_index = 0;
        SP_TRY(read_type_index(r, state, type_index));
        import.func_type = state.info.types[type_index];
        state.func_type_indices.push_back(type_index);
        ++state.n_imported_functions;
        break;
      }
      case 1:
        SP_TRY(read_table_type(r, import.table, state.info.features));
        ++state.n_tables;
        break;
      case 2:
        SP_TRY(read_memory_limits(r, import.memory, state.info.features));
        state.memory_is64.push_back(import.memory.is64);
        break;
      case 3:
        SP_TRY(read_global_type(r, import.global_type, import.global_mutable, state.info.features));
        ++state.n_globals;
        break;
      case 4:
        SP_TRY(read_tag_type(r, state, import.func_type));
        break;
      default:
        return r.error_at(at, "import '" + printable_name(import.module) + "'.'" + printable_name(import.field) +
                                  "': unknown kind " + hex_byte(kind));
    }
    import.kind = static_cast<ExternKind>(kind);
    state.info.imports.push_back(std::move(import));
  }
  return Status::ok();
}

Status parse_function_section(WasmReader& r, ModuleState& state) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "function"));
  state.func_type_indices.reserve(state.func_type_indices.size() + count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t type_index = 0;
    SP_TRY(read_type_index(r, state, type_index));
    state.func_type_indices.push_back(type_index);
  }
  state.info.n_functions = count;
  return Status::ok();
}

Status parse_table_section(WasmReader& r, ModuleState& state) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "table", 3));
  for (uint32_t i = 0; i < count; ++i) {
    TableLimits table;
    SP_TRY(read_table_type(r, table, state.info.features));
    state.info.tables.push_back(table);
    ++state.n_tables;
  }
  return Status::ok();
}

Status parse_memory_section(WasmReader& r, ModuleState& state) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "memory", 2));
  for (uint32_t i = 0; i < count; ++i) {
    MemoryLimits memory;
    SP_TRY(read_memory_limits(r, memory, state.info.features));
    state.info.memories.push_back(memory);
    state.memory_is64.push_back(memory.is64);
  }
  return Status::ok();
}

Status parse_tag_section(WasmReader& r, ModuleState& state) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "tag", 2));
  for (uint32_t i = 0; i < count; ++i) {
    FuncType type;
    SP_TRY(read_tag_type(r, state, type));
  }
  return Status::ok();
}

Status parse_global_section(WasmReader& r, ModuleState& state) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "global", 4));
  for (uint32_t i = 0; i < count; ++i) {
    ValType type{};
    bool is_mutable = false;
    SP_TRY(read_global_type(r, type, is_mutable, state.info.features));
    // The initializer may only see the globals before this one.
    SP_TRY(read_const_expr(r, state, "global " + std::to_string(state.n_globals) + " initializer"));
    ++state.n_globals;
    state.info.globals.push_back(GlobalInfo{type, is_mutable});
  }
  state.info.n_globals = count;
  return Status::ok();
}

Status parse_export_section(WasmReader& r, ModuleState& state) {
  uint32_t count = 0;
  SP_TRY(r.read_count(count, "export", 3));
  state.info.exports.reserve(count);
  std::unordered_set<std::string> names;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = r.offset();
    ExportInfo exp;
    SP_TRY(r.read_name(exp.name, "export name"));
    const std::string shown = "export '" + printable_name(exp.name) + "'";
    if (!names.insert(exp.name).second) {
      return r.error_at(at, "duplicate export name '" + printable_name(exp.name) + "'");
    }
    const size_t kind_at = r.offset();
    uint8_t kind = 0;
    SP_TRY(r.read_u8(kind));
    SP_TRY(r.read_u32(exp.index));
    uint64_t limit = 0;
    switch (kind) {
      case 0: limit = state.func_type_indices.size(); break;
      case 1: limit = state.n_tables; break;
      case 2: limit = state.memory_is64.size(); break;
      case 3: limit = state.n_globals; break;
      case 4:
        limit = state.n_tags;
        state.info.features.exceptions = true;
        break;
      default:
        return r.error_at(kind_at, shown + ": unknown kind " + hex_byte(kind));
    }
    exp.kind = static_cast<ExternKind>(kind);
    if (exp.index >= limit) {
      return r.error_at(kind_at, shown + ": " + extern_kind_name(exp.kind) + " index " + std::to_string(exp.index) +
                                     " out of range (module has " + std::to_string(limit) + ")");
    }
    if (exp.kind == ExternKind::ExternKind_func) {
      exp.func_type = state.info.types[state.func_type_indices[exp.index]];
    }
    state.info.exports.push_back(std::move(exp));
  }
  return Status::ok();
}

Status parse_start_section(WasmReader& r, ModuleState& state) {
  const size_t at = r.offset();
  uint32_t index = 0;
  SP_TRY(r.read_u32(index));
  if (index >= state.func_type_indices.size()) {
    return r.error_at(at, "start function index " + std::to_string(index) + " out of range (module has " +
                              std::to_string(state.func_type_indices.size()) + " functions)");
  }
  const FuncType& type = state.info.types[state.func_type_indices[index]];
  if (!type.params.empty() || !type.results.empty()) {
    return r.error_at(at, "start function " + std::to_string(index) + " has type " + func_type_to_string(type) +
                              "; it must take and return nothing");
  }
  state.info.has_start = true;
  state.info.start_function = index;
  return Status::ok();
}

}  // namespace samepage
