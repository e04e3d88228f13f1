// parse_module: reads the header and every section of a WebAssembly binary,
// checks section order, sizes and the index spaces, and walks all code to
// find the features used. It is not a full validator (no operand type
// checking): wasm2c does that when it translates the module.
#include "engine/module_sections.h"
#include "engine/wasm_reader.h"
#include "samepage/module_info.h"

namespace samepage {
namespace {

enum SectionId : uint8_t {
  SectionId_custom = 0,
  SectionId_type = 1,
  SectionId_import = 2,
  SectionId_function = 3,
  SectionId_table = 4,
  SectionId_memory = 5,
  SectionId_global = 6,
  SectionId_export = 7,
  SectionId_start = 8,
  SectionId_element = 9,
  SectionId_code = 10,
  SectionId_data = 11,
  SectionId_datacount = 12,
  SectionId_tag = 13,
};

const char* section_context(uint8_t id) {
  static const char* const kNames[] = {
      "custom section",  "type section",  "import section", "function section",  "table section",
      "memory section",  "global section", "export section", "start section",     "element section",
      "code section",    "data section",   "datacount section", "tag section"};
  return id <= SectionId_tag ? kNames[id] : "unknown section";
}

// Position in the required section order; the tag section sits between
// memory and global, datacount between element and code.
int section_rank(uint8_t id) {
  static const int kRanks[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  return id <= SectionId_tag ? kRanks[id] : -1;
}

Status parse_custom_section(WasmReader& r, ModuleState& state) {
  std::string name;
  SP_TRY(r.read_name(name, "custom section name"));
  state.info.custom_sections.push_back(std::move(name));
  return r.skip(r.remaining());  // contents are free-form
}

Status parse_section(uint8_t id, WasmReader& r, ModuleState& state) {
  switch (id) {
    case SectionId_custom: return parse_custom_section(r, state);
    case SectionId_type: return parse_type_section(r, state);
    case SectionId_import: return parse_import_section(r, state);
    case SectionId_function: return parse_function_section(r, state);
    case SectionId_table: return parse_table_section(r, state);
    case SectionId_memory: return parse_memory_section(r, state);
    case SectionId_global: return parse_global_section(r, state);
    case SectionId_export: return parse_export_section(r, state);
    case SectionId_start: return parse_start_section(r, state);
    case SectionId_element: return parse_element_section(r, state);
    case SectionId_code: return parse_code_section(r, state);
    case SectionId_data: return parse_data_section(r, state);
    case SectionId_datacount: return parse_datacount_section(r, state);
    case SectionId_tag: return parse_tag_section(r, state);
    default: return r.error("unknown section id " + std::to_string(id));
  }
}

Status parse_header(WasmReader& file) {
  if (file.remaining() < 8) {
    return file.error("file has " + std::to_string(file.remaining()) +
                      " bytes; a WebAssembly module has at least 8 (truncated or empty)");
  }
  uint32_t magic = 0, version = 0;
  SP_TRY(file.read_fixed_u32(magic));
  if (magic != 0x6d736100) return file.error_at(0, "bad magic: not a WebAssembly binary (expected 00 61 73 6d)");
  SP_TRY(file.read_fixed_u32(version));
  // Components share the magic; their version word carries layer 1.
  if ((version >> 16) == 1) return file.error_at(4, "this is a WebAssembly component, not a core module");
  if (version != 1) return file.error_at(4, "unsupported version " + std::to_string(version) + " (expected 1)");
  return Status::ok();
}

// Checks that need the whole module.
Status finish(WasmReader& file, ModuleState& state) {
  file.set_context("module");
  if (state.info.n_functions > 0 && !state.has_code_section) {
    return file.error("function and code section counts differ: " + std::to_string(state.info.n_functions) +
                      " functions declared, no code section");
  }
  if (state.has_data_count && state.data_count > 0 && !state.has_data_section) {
    return file.error("the datacount section says " + std::to_string(state.data_count) +
                      " data segments but there is no data section");
  }
  if (state.memory_is64.size() > 1) state.info.features.multi_memory = true;
  if (state.n_tables > 1) state.info.features.reference_types = true;
  return Status::ok();
}

Status parse_all(WasmReader& file, ModuleState& state) {
  SP_TRY(parse_header(file));
  int last_rank = 0;
  while (!file.at_end()) {
    file.set_context("section header");
    const size_t header_offset = file.offset();
    uint8_t id = 0;
    SP_TRY(file.read_u8(id));
    if (section_rank(id) < 0) return file.error_at(header_offset, "unknown section id " + std::to_string(id));
    file.set_context(section_context(id));
    uint32_t size = 0;
    SP_TRY(file.read_u32(size));
    if (size > file.remaining()) {
      return file.error_at(header_offset, "section size " + std::to_string(size) + " exceeds the " +
                                              std::to_string(file.remaining()) + " bytes left in the file (truncated)");
    }
    if (id != SectionId_custom) {
      if (section_rank(id) <= last_rank) {
        return file.error_at(header_offset,
                             "section out of order or duplicated (section id " + std::to_string(id) + ")");
      }
      last_rank = section_rank(id);
    }
    WasmReader section(nullptr, nullptr, 0, "");
    SP_TRY(file.sub_reader(size, section_context(id), section));
    SP_TRY(parse_section(id, section, state));
    if (!section.at_end()) {
      return section.error("section size mismatch: " + std::to_string(section.remaining()) +
                           " bytes left unread at the end of the section");
    }
  }
  return finish(file, state);
}

}  // namespace

Result<ModuleInfo> parse_module(const uint8_t* bytes, size_t n_bytes) {
  if (bytes == nullptr && n_bytes != 0) return err("engine::parse_module", "null module bytes");
  WasmReader file(bytes, bytes + n_bytes, 0, "module header");
  ModuleState state;
  SP_TRY(parse_all(file, state));
  state.info.function_types = state.func_type_indices;
  return std::move(state.info);
}

}  // namespace samepage
