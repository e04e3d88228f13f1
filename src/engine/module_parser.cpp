// parse_module: reads every section of a WebAssembly binary, checks its
// structure and index spaces, and walks all code to find the features used.
// It is not a full validator (no operand type checking): wasm2c does that.
#include <unordered_set>

#include "engine/wasm_instructions.h"
#include "engine/wasm_reader.h"
#include "samepage/module_info.h"

namespace samepage {
namespace {

constexpr uint8_t kSectionCustom = 0;
constexpr uint8_t kSectionType = 1;
constexpr uint8_t kSectionImport = 2;
constexpr uint8_t kSectionFunction = 3;
constexpr uint8_t kSectionTable = 4;
constexpr uint8_t kSectionMemory = 5;
constexpr uint8_t kSectionGlobal = 6;
constexpr uint8_t kSectionExport = 7;
constexpr uint8_t kSectionStart = 8;
constexpr uint8_t kSectionElement = 9;
constexpr uint8_t kSectionCode = 10;
constexpr uint8_t kSectionData = 11;
constexpr uint8_t kSectionDataCount = 12;
constexpr uint8_t kSectionTag = 13;

constexpr uint64_t kMaxPages32 = 65536;          // 4 GiB of 64 KiB pages
constexpr uint64_t kMaxPages64 = uint64_t{1} << 48;

const char* section_context(uint8_t id) {
  static const char* const kNames[] = {
      "custom section", "type section",   "import section",  "function section",
      "table section",  "memory section", "global section",  "export section",
      "start section",  "element section", "code section",   "data section",
      "datacount section", "tag section"};
  return id <= kSectionTag ? kNames[id] : "unknown section";
}

// Position in the required section order; the tag section sits between
// memory and global, datacount between element and code.
int section_rank(uint8_t id) {
  static const int kRanks[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  return id <= kSectionTag ? kRanks[id] : -1;
}

class ModuleParser {
 public:
  ModuleParser(const uint8_t* bytes, size_t n_bytes)
      : file_(bytes, bytes + n_bytes, 0, "module header") {}

  Result<ModuleInfo> parse() {
    Status status = parse_all();
    if (!status.is_ok()) return status;
    return std::move(info_);
  }

 private:
  Status parse_all() {
    SP_TRY(parse_header());
    int last_rank = 0;
    while (!file_.at_end()) {
      file_.set_context("section header");
      const size_t header_offset = file_.offset();
      uint8_t id = 0;
      SP_TRY(file_.read_u8(id));
      if (section_rank(id) < 0) return file_.error_at(header_offset, "unknown section id " + std::to_string(id));
      file_.set_context(section_context(id));
      uint32_t size = 0;
      SP_TRY(file_.read_u32(size));
      if (size > file_.remaining()) {
        return file_.error_at(header_offset, "section size " + std::to_string(size) + " exceeds the " +
                                                 std::to_string(file_.remaining()) +
                                                 " bytes left in the file (truncated)");
      }
      if (id != kSectionCustom) {
        const int rank = section_rank(id);
        if (rank <= last_rank) {
          return file_.error_at(header_offset, "section out of order or duplicated (section id " +
                                                   std::to_string(id) + ")");
        }
        last_rank = rank;
      }
      WasmReader section(nullptr, nullptr, 0, "");
      SP_TRY(file_.sub_reader(size, section_context(id), section));
      SP_TRY(parse_section(id, section));
      if (id != kSectionCustom && !section.at_end()) {
        return section.error("section size mismatch: " + std::to_string(section.remaining()) +
                             " bytes left unread at the end of the section");
      }
    }
    return finish();
  }

  Status parse_header() {
    if (file_.remaining() < 8) {
      return file_.error("file has " + std::to_string(file_.remaining()) +
                         " bytes; a WebAssembly module has at least 8 (truncated or empty)");
    }
    uint32_t magic = 0, version = 0;
    SP_TRY(file_.read_fixed_u32(magic));
    if (magic != 0x6d736100) return file_.error_at(0, "bad magic: not a WebAssembly binary (expected 00 61 73 6d)");
    SP_TRY(file_.read_fixed_u32(version));
    if ((version >> 16) == 1) {
      return file_.error_at(4, "this is a WebAssembly component, not a core module");
    }
    if (version != 1) return file_.error_at(4, "unsupported version " + std::to_string(version) + " (expected 1)");
    return Status::ok();
  }

  Status parse_section(uint8_t id, WasmReader& r) {
    switch (id) {
      case kSectionCustom: return parse_custom(r);
      case kSectionType: return parse_types(r);
      case kSectionImport: return parse_imports(r);
      case kSectionFunction: return parse_functions(r);
      case kSectionTable: return parse_tables(r);
      case kSectionMemory: return parse_memories(r);
      case kSectionGlobal: return parse_globals(r);
      case kSectionExport: return parse_exports(r);
      case kSectionStart: return parse_start(r);
      case kSectionElement: return parse_elements(r);
      case kSectionCode: return parse_code(r);
      case kSectionData: return parse_data(r);
      case kSectionDataCount: return parse_data_count(r);
      case kSectionTag: return parse_tags(r);
      default: return r.error("unknown section id " + std::to_string(id));
    }
  }

  Status parse_custom(WasmReader& r) {
    std::string name;
    SP_TRY(r.read_name(name, "custom section name"));
    info_.custom_sections.push_back(std::move(name));
    return r.skip(r.remaining());
  }

  Status parse_types(WasmReader& r) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "type", 3));
    info_.types.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      const size_t at = r.offset();
      uint8_t form = 0;
      SP_TRY(r.read_u8(form));
      if (form != 0x60) return r.error_at(at, "type " + std::to_string(i) + ": unsupported type form " + hex_byte(form) + " (expected 0x60, func)");
      FuncType type;
      SP_TRY(read_val_types(r, type.params));
      SP_TRY(read_val_types(r, type.results));
      if (type.results.size() > 1) info_.features.multi_value = true;
      info_.types.push_back(std::move(type));
    }
    return Status::ok();
  }

  Status read_val_types(WasmReader& r, std::vector<ValType>& out) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "value type"));
    out.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      ValType type{};
      SP_TRY(read_val_type(r, type, info_.features));
      out.push_back(type);
    }
    return Status::ok();
  }

  Status read_type_index(WasmReader& r, uint32_t& out) {
    const size_t at = r.offset();
    SP_TRY(r.read_u32(out));
    if (out >= info_.types.size()) {
      return r.error_at(at, "type index " + std::to_string(out) + " out of range (module has " +
                                std::to_string(info_.types.size()) + " types)");
    }
    return Status::ok();
  }

  Status read_memory_limits(WasmReader& r, MemoryLimits& out) {
    const size_t at = r.offset();
    uint8_t flags = 0;
    SP_TRY(r.read_u8(flags));
    if (flags > 7) return r.error_at(at, "unknown memory limits flags " + hex_byte(flags));
    out.has_max = flags & 1;
    out.shared = flags & 2;
    out.is64 = flags & 4;
    if (out.is64) {
      SP_TRY(r.read_u64(out.min_pages));
      if (out.has_max) SP_TRY(r.read_u64(out.max_pages));
    } else {
      uint32_t min = 0, max = 0;
      SP_TRY(r.read_u32(min));
      if (out.has_max) SP_TRY(r.read_u32(max));
      out.min_pages = min;
      out.max_pages = max;
    }
    const uint64_t limit = out.is64 ? kMaxPages64 : kMaxPages32;
    if (out.min_pages > limit || (out.has_max && out.max_pages > limit)) {
      return r.error_at(at, "memory size exceeds " + std::to_string(limit) + " pages");
    }
    if (out.has_max && out.min_pages > out.max_pages) {
      return r.error_at(at, "memory minimum " + std::to_string(out.min_pages) + " pages exceeds its maximum " +
                                std::to_string(out.max_pages));
    }
    if (out.shared && !out.has_max) return r.error_at(at, "shared memory must have a maximum size");
    if (out.shared) info_.features.threads = true;
    if (out.is64) info_.features.memory64 = true;
    memory_is64_.push_back(out.is64);
    return Status::ok();
  }

  Status read_table_type(WasmReader& r, TableLimits& out) {
    SP_TRY(read_ref_type(r, out.elem_type, info_.features));
    const size_t at = r.offset();
    uint8_t flags = 0;
    SP_TRY(r.read_u8(flags));
    if (flags > 1) return r.error_at(at, "unknown table limits flags " + hex_byte(flags));
    uint32_t min = 0, max = 0;
    SP_TRY(r.read_u32(min));
    if (flags & 1) SP_TRY(r.read_u32(max));
    out.min_entries = min;
    out.has_max = flags & 1;
    out.max_entries = max;
    if (out.has_max && min > max) {
      return r.error_at(at, "table minimum " + std::to_string(min) + " exceeds its maximum " + std::to_string(max));
    }
    ++n_tables_;
    return Status::ok();
  }

  Status read_global_type(WasmReader& r, ValType& type, bool& is_mutable) {
    SP_TRY(read_val_type(r, type, info_.features));
    const size_t at = r.offset();
    uint8_t mut = 0;
    SP_TRY(r.read_u8(mut));
    if (mut > 1) return r.error_at(at, "global mutability must be 0 or 1, not " + hex_byte(mut));
    is_mutable = mut == 1;
    return Status::ok();
  }

  Status read_tag_type(WasmReader& r, FuncType& out) {
    const size_t at = r.offset();
    uint8_t attribute = 0;
    SP_TRY(r.read_u8(attribute));
    if (attribute != 0) return r.error_at(at, "tag attribute must be 0, not " + hex_byte(attribute));
    uint32_t type_index = 0;
    SP_TRY(read_type_index(r, type_index));
    out = info_.types[type_index];
    info_.features.exceptions = true;
    ++n_tags_;
    return Status::ok();
  }

  Status parse_imports(WasmReader& r) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "import", 4));
    info_.imports.reserve(count);
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
          SP_TRY(read_type_index(r, type_index));
          import.func_type = info_.types[type_index];
          func_type_indices_.push_back(type_index);
          ++n_imported_functions_;
          break;
        }
        case 1: SP_TRY(read_table_type(r, import.table)); break;
        case 2: SP_TRY(read_memory_limits(r, import.memory)); break;
        case 3:
          SP_TRY(read_global_type(r, import.global_type, import.global_mutable));
          ++n_globals_;
          break;
        case 4: SP_TRY(read_tag_type(r, import.func_type)); break;
        default:
          return r.error_at(at, "import '" + printable_name(import.module) + "'.'" + printable_name(import.field) + "': unknown kind " + hex_byte(kind));
      }
      import.kind = static_cast<ExternKind>(kind);
      info_.imports.push_back(std::move(import));
    }
    return Status::ok();
  }

  Status parse_functions(WasmReader& r) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "function"));
    func_type_indices_.reserve(func_type_indices_.size() + count);
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t type_index = 0;
      SP_TRY(read_type_index(r, type_index));
      func_type_indices_.push_back(type_index);
    }
    info_.n_functions = count;
    return Status::ok();
  }

  Status parse_tables(WasmReader& r) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "table", 3));
    for (uint32_t i = 0; i < count; ++i) {
      TableLimits table;
      SP_TRY(read_table_type(r, table));
      info_.tables.push_back(table);
    }
    return Status::ok();
  }

  Status parse_memories(WasmReader& r) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "memory", 2));
    for (uint32_t i = 0; i < count; ++i) {
      MemoryLimits memory;
      SP_TRY(read_memory_limits(r, memory));
      info_.memories.push_back(memory);
    }
    return Status::ok();
  }

  CodeContext code_context() const {
    CodeContext ctx;
    ctx.types = &info_.types;
    ctx.func_type_indices = &func_type_indices_;
    ctx.memory_is64 = &memory_is64_;
    ctx.n_tables = n_tables_;
    ctx.n_globals = n_globals_;
    ctx.n_tags = n_tags_;
    ctx.n_elem_segments = n_elem_segments_;
    ctx.has_data_count = has_data_count_;
    ctx.n_data_segments = data_count_;
    return ctx;
  }

  Status read_const_expr(WasmReader& r, const std::string& what) {
    return scan_expression(r, code_context(), ExprKind::ExprKind_const, 0, what, info_.features);
  }

  Status parse_globals(WasmReader& r) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "global", 4));
    for (uint32_t i = 0; i < count; ++i) {
      ValType type{};
      bool is_mutable = false;
      SP_TRY(read_global_type(r, type, is_mutable));
      // The initializer may only see the globals before this one.
      SP_TRY(read_const_expr(r, "global " + std::to_string(n_globals_) + " initializer"));
      ++n_globals_;
    }
    info_.n_globals = count;
    return Status::ok();
  }

  Status parse_exports(WasmReader& r) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "export", 3));
    info_.exports.reserve(count);
    std::unordered_set<std::string> names;
    for (uint32_t i = 0; i < count; ++i) {
      const size_t at = r.offset();
      ExportInfo exp;
      SP_TRY(r.read_name(exp.name, "export name"));
      if (!names.insert(exp.name).second) return r.error_at(at, "duplicate export name '" + printable_name(exp.name) + "'");
      const size_t kind_at = r.offset();
      uint8_t kind = 0;
      SP_TRY(r.read_u8(kind));
      SP_TRY(r.read_u32(exp.index));
      uint64_t limit = 0;
      switch (kind) {
        case 0: limit = func_type_indices_.size(); break;
        case 1: limit = n_tables_; break;
        case 2: limit = memory_is64_.size(); break;
        case 3: limit = n_globals_; break;
        case 4: limit = n_tags_; info_.features.exceptions = true; break;
        default: return r.error_at(kind_at, "export '" + printable_name(exp.name) + "': unknown kind " + hex_byte(kind));
      }
      exp.kind = static_cast<ExternKind>(kind);
      if (exp.index >= limit) {
        return r.error_at(kind_at, "export '" + printable_name(exp.name) + "': " + extern_kind_name(exp.kind) + " index " +
                                       std::to_string(exp.index) + " out of range (module has " +
                                       std::to_string(limit) + ")");
      }
      if (exp.kind == ExternKind::ExternKind_func) exp.func_type = info_.types[func_type_indices_[exp.index]];
      info_.exports.push_back(std::move(exp));
    }
    return Status::ok();
  }

  Status parse_start(WasmReader& r) {
    const size_t at = r.offset();
    SP_TRY(r.read_u32(info_.start_function));
    if (info_.start_function >= func_type_indices_.size()) {
      return r.error_at(at, "start function index " + std::to_string(info_.start_function) +
                                " out of range (module has " + std::to_string(func_type_indices_.size()) +
                                " functions)");
    }
    const FuncType& type = info_.types[func_type_indices_[info_.start_function]];
    if (!type.params.empty() || !type.results.empty()) {
      return r.error_at(at, "start function " + std::to_string(info_.start_function) + " has type " +
                                func_type_to_string(type) + "; it must take and return nothing");
    }
    info_.has_start = true;
    return Status::ok();
  }

  Status read_function_index(WasmReader& r) {
    const size_t at = r.offset();
    uint32_t index = 0;
    SP_TRY(r.read_u32(index));
    if (index >= func_type_indices_.size()) {
      return r.error_at(at, "function index " + std::to_string(index) + " out of range (module has " +
                                std::to_string(func_type_indices_.size()) + " functions)");
    }
    return Status::ok();
  }

  // Element segment flags: bit 0 passive or declarative, bit 1 explicit table
  // (active) or declarative (non-active), bit 2 expressions instead of indices.
  Status parse_elements(WasmReader& r) {
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
      if (flags != 0) info_.features.bulk_memory = true;
      if (flags == 3 || flags == 7) info_.features.reference_types = true;  // declarative
      if (active) {
        uint32_t table = 0;
        if (flags & 2) SP_TRY(r.read_u32(table));
        if (table >= n_tables_) {
          return r.error_at(at, what + ": table index " + std::to_string(table) + " out of range (module has " +
                                    std::to_string(n_tables_) + " tables)");
        }
        if (table != 0) info_.features.reference_types = true;
        SP_TRY(read_const_expr(r, what + " offset"));
      }
      if (!active || (flags & 2)) {  // element kind or reference type byte
        if (uses_exprs) {
          ValType type{};
          SP_TRY(read_ref_type(r, type, info_.features));
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
          SP_TRY(read_const_expr(r, what + " element " + std::to_string(k)));
        } else {
          SP_TRY(read_function_index(r));
        }
      }
    }
    n_elem_segments_ = count;
    return Status::ok();
  }

  Status parse_data_count(WasmReader& r) {
    SP_TRY(r.read_u32(data_count_));
    has_data_count_ = true;
    info_.features.bulk_memory = true;
    return Status::ok();
  }

  Status parse_code(WasmReader& r) {
    const size_t at = r.offset();
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "function body", 2));
    if (count != info_.n_functions) {
      return r.error_at(at, "function and code section counts differ: " + std::to_string(info_.n_functions) +
                                " functions declared, " + std::to_string(count) + " bodies");
    }
    has_code_section_ = true;
    const CodeContext ctx = code_context();
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t func_index = n_imported_functions_ + i;
      const std::string what = "function " + std::to_string(func_index);
      uint32_t body_size = 0;
      SP_TRY(r.read_u32(body_size));
      if (body_size > r.remaining()) {
        return r.error(what + ": body size " + std::to_string(body_size) + " exceeds the " +
                       std::to_string(r.remaining()) + " bytes left in the section");
      }
      WasmReader body(nullptr, nullptr, 0, "");
      SP_TRY(r.sub_reader(body_size, "code section", body));
      const FuncType& type = info_.types[func_type_indices_[func_index]];
      uint64_t n_locals = type.params.size();
      SP_TRY(read_locals(body, what, n_locals));
      SP_TRY(scan_expression(body, ctx, ExprKind::ExprKind_function_body, n_locals, what, info_.features));
    }
    return Status::ok();
  }

  Status read_locals(WasmReader& body, const std::string& what, uint64_t& n_locals) {
    uint32_t n_groups = 0;
    SP_TRY(body.read_count(n_groups, "local declaration", 2));
    for (uint32_t g = 0; g < n_groups; ++g) {
      const size_t at = body.offset();
      uint32_t n = 0;
      SP_TRY(body.read_u32(n));
      n_locals += n;
      if (n_locals > UINT32_MAX) return body.error_at(at, what + ": more than 2^32 - 1 locals");
      ValType type{};
      SP_TRY(read_val_type(body, type, info_.features));
    }
    return Status::ok();
  }

  Status parse_data(WasmReader& r) {
    const size_t at = r.offset();
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "data segment", 2));
    if (has_data_count_ && count != data_count_) {
      return r.error_at(at, "data section has " + std::to_string(count) + " segments but the datacount section says " +
                                std::to_string(data_count_));
    }
    has_data_section_ = true;
    for (uint32_t i = 0; i < count; ++i) {
      const std::string what = "data segment " + std::to_string(i);
      const size_t seg_at = r.offset();
      uint32_t flags = 0;
      SP_TRY(r.read_u32(flags));
      if (flags > 2) return r.error_at(seg_at, what + ": unknown flags " + std::to_string(flags));
      if (flags == 1) {
        info_.features.bulk_memory = true;  // passive segment
      } else {
        uint32_t memory = 0;
        if (flags == 2) SP_TRY(r.read_u32(memory));
        if (memory >= memory_is64_.size()) {
          return r.error_at(seg_at, what + ": memory index " + std::to_string(memory) + " out of range (module has " +
                                        std::to_string(memory_is64_.size()) + " memories)");
        }
        SP_TRY(read_const_expr(r, what + " offset"));
      }
      const size_t len_at = r.offset();
      uint32_t n_bytes = 0;
      SP_TRY(r.read_u32(n_bytes));
      if (n_bytes > r.remaining()) {
        return r.error_at(len_at, what + ": size " + std::to_string(n_bytes) + " exceeds the " +
                                      std::to_string(r.remaining()) + " bytes left in the section");
      }
      SP_TRY(r.skip(n_bytes));
    }
    return Status::ok();
  }

  Status parse_tags(WasmReader& r) {
    uint32_t count = 0;
    SP_TRY(r.read_count(count, "tag", 2));
    for (uint32_t i = 0; i < count; ++i) {
      FuncType type;
      SP_TRY(read_tag_type(r, type));
    }
    return Status::ok();
  }

  // Checks that need the whole module.
  Status finish() {
    file_.set_context("module");
    if (info_.n_functions > 0 && !has_code_section_) {
      return file_.error("function and code section counts differ: " + std::to_string(info_.n_functions) +
                         " functions declared, no code section");
    }
    if (has_data_count_ && data_count_ > 0 && !has_data_section_) {
      return file_.error("the datacount section says " + std::to_string(data_count_) +
                         " data segments but there is no data section");
    }
    if (memory_is64_.size() > 1) info_.features.multi_memory = true;
    if (n_tables_ > 1) info_.features.reference_types = true;
    return Status::ok();
  }

  WasmReader file_;
  ModuleInfo info_;
  std::vector<uint32_t> func_type_indices_;  // type of each function (imported + defined)
  std::vector<bool> memory_is64_;            // (imported + defined memories)
  uint32_t n_imported_functions_ = 0;
  uint32_t n_tables_ = 0;   // imported + defined, likewise below
  uint32_t n_globals_ = 0;
  uint32_t n_tags_ = 0;
  uint32_t n_elem_segments_ = 0;
  bool has_code_section_ = false;
  bool has_data_count_ = false;
  uint32_t data_count_ = 0;
  bool has_data_section_ = false;
};

}  // namespace

Result<ModuleInfo> parse_module(const uint8_t* bytes, size_t n_bytes) {
  if (bytes == nullptr && n_bytes != 0) return err("engine::parse_module", "null module bytes");
  ModuleParser parser(bytes, n_bytes);
  return parser.parse();
}

}  // namespace samepage
