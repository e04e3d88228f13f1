// What samepage says about a parsed module: type names, the runnable check
// and the `samepage inspect` report.
#include <string>

#include "engine/wasm_reader.h"
#include "samepage/module_info.h"

namespace samepage {
namespace {

std::string join_types(const std::vector<ValType>& types) {
  std::string out;
  for (size_t i = 0; i < types.size(); ++i) {
    if (i > 0) out += ", ";
    out += val_type_name(types[i]);
  }
  return out;
}

// Memory sizes are whole 64 KiB pages, so KiB never loses precision and
// 2^48 pages (the memory64 limit) still fits.
std::string format_pages(uint64_t n_pages) {
  const uint64_t kib = n_pages * 64;
  std::string size;
  if (kib >= (uint64_t{1} << 20) && kib % (uint64_t{1} << 20) == 0) {
    size = std::to_string(kib >> 20) + " GiB";
  } else if (kib >= 1024 && kib % 1024 == 0) {
    size = std::to_string(kib >> 10) + " MiB";
  } else {
    size = std::to_string(kib) + " KiB";
  }
  std::string out = std::to_string(n_pages) + (n_pages == 1 ? " page" : " pages");
  if (n_pages < (uint64_t{1} << 47)) out += " = " + std::to_string(n_pages * 65536) + " bytes";
  return out + " (" + size + ")";
}

std::string describe_memory(const MemoryLimits& memory) {
  std::string out = "min " + format_pages(memory.min_pages) + ", max ";
  out += memory.has_max ? format_pages(memory.max_pages) : std::string("none");
  if (memory.shared) out += ", shared";
  if (memory.is64) out += ", 64-bit";
  return out;
}

std::string describe_table(const TableLimits& table) {
  std::string out = std::string(val_type_name(table.elem_type)) + ", min " + std::to_string(table.min_entries);
  out += table.has_max ? ", max " + std::to_string(table.max_entries) : std::string(", max none");
  return out;
}

std::string describe_features(const FeatureSet& f) {
  std::string out;
  auto add = [&out](bool used, const char* name) {
    if (!used) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(f.simd, "simd");
  add(f.threads, "threads");
  add(f.memory64, "memory64");
  add(f.multi_memory, "multi-memory");
  add(f.exceptions, "exceptions");
  add(f.tail_call, "tail-call");
  add(f.extended_const, "extended-const");
  add(f.bulk_memory, "bulk-memory");
  add(f.reference_types, "reference-types");
  add(f.multi_value, "multi-value");
  add(f.sign_extension, "sign-extension");
  add(f.saturating_float_to_int, "saturating-float-to-int");
  return out.empty() ? "none (WebAssembly 1.0 only)" : out;
}

// The first reason samepage cannot run the module, or "" when it can.
std::string unrunnable_reason(const ModuleInfo& info) {
  const FeatureSet& f = info.features;
  if (f.simd) {
    return "module uses SIMD (v128); samepage's wasm2c (WABT 1.0.32) cannot run SIMD modules: "
           "rebuild the guest without -msimd128";
  }
  if (f.threads) {
    return "module uses threads (shared memory or atomic instructions); samepage's wasm2c (WABT 1.0.32) "
           "cannot run them: rebuild the guest without -pthread, -matomics or shared memory";
  }
  if (f.memory64) {
    return "module uses memory64 (64-bit linear memory); samepage guests are wasm32: "
           "rebuild the guest for --target=wasm32-wasi";
  }
  size_t n_memories = info.memories.size();
  for (const ImportInfo& import : info.imports) {
    if (import.kind == ExternKind::ExternKind_memory) ++n_memories;
  }
  if (f.multi_memory || n_memories > 1) {
    return "module has " + std::to_string(n_memories) +
           " memories (multi-memory); a samepage guest has exactly one linear memory";
  }
  for (const ImportInfo& import : info.imports) {
    if (import.kind == ExternKind::ExternKind_memory || import.kind == ExternKind::ExternKind_table) {
      const char* kind = extern_kind_name(import.kind);
      return std::string("imports ") + kind + " '" + printable_name(import.module) + "'.'" +
             printable_name(import.field) +
             "': samepage guests must define their own " + kind;
    }
  }
  if (f.exceptions) {
    return "module uses WebAssembly exception handling (try/catch/throw or tags); samepage does not "
           "support it: rebuild the guest with -fno-exceptions";
  }
  if (f.tail_call) {
    return "module uses tail calls (return_call); samepage's wasm2c (WABT 1.0.32) cannot translate them: "
           "rebuild the guest without -mtail-call";
  }
  if (f.extended_const) {
    return "module uses extended constant expressions; samepage's wasm2c (WABT 1.0.32) cannot "
           "translate them: rebuild the guest without -mextended-const";
  }
  return "";
}

}  // namespace

const char* val_type_name(ValType type) {
  switch (type) {
    case ValType::ValType_i32: return "i32";
    case ValType::ValType_i64: return "i64";
    case ValType::ValType_f32: return "f32";
    case ValType::ValType_f64: return "f64";
    case ValType::ValType_v128: return "v128";
    case ValType::ValType_funcref: return "funcref";
    case ValType::ValType_externref: return "externref";
  }
  return "unknown";
}

std::string func_type_to_string(const FuncType& type) {
  std::string out = "(" + join_types(type.params) + ") -> ";
  if (type.results.size() == 1) return out + val_type_name(type.results[0]);
  return out + "(" + join_types(type.results) + ")";
}

const char* extern_kind_name(ExternKind kind) {
  switch (kind) {
    case ExternKind::ExternKind_func: return "func";
    case ExternKind::ExternKind_table: return "table";
    case ExternKind::ExternKind_memory: return "memory";
    case ExternKind::ExternKind_global: return "global";
    case ExternKind::ExternKind_tag: return "tag";
  }
  return "unknown";
}

std::vector<std::string> ModuleInfo::import_modules() const {
  std::vector<std::string> names;
  for (const ImportInfo& import : imports) {
    bool seen = false;
    for (const std::string& name : names) seen = seen || name == import.module;
    if (!seen) names.push_back(import.module);
  }
  return names;
}

Status check_runnable(const ModuleInfo& info) {
  std::string reason = unrunnable_reason(info);
  if (reason.empty()) return Status::ok();
  return err("engine::check_runnable", reason);
}

std::string describe_module(const ModuleInfo& info) {
  uint32_t n_imported_functions = 0;
  for (const ImportInfo& import : info.imports) {
    if (import.kind == ExternKind::ExternKind_func) ++n_imported_functions;
  }
  std::string out;
  out += "types: " + std::to_string(info.types.size()) + "\n";
  out += "functions: " + std::to_string(info.n_functions) + " defined, " +
         std::to_string(n_imported_functions) + " imported\n";

  out += "imports (" + std::to_string(info.imports.size()) + "):\n";
  for (const ImportInfo& import : info.imports) {
    out += "  " + printable_name(import.module) + "." + printable_name(import.field) + ": " + extern_kind_name(import.kind) + " ";
    switch (import.kind) {
      case ExternKind::ExternKind_func:
      case ExternKind::ExternKind_tag: out += func_type_to_string(import.func_type); break;
      case ExternKind::ExternKind_memory: out += describe_memory(import.memory); break;
      case ExternKind::ExternKind_table: out += describe_table(import.table); break;
      case ExternKind::ExternKind_global:
        out += std::string(val_type_name(import.global_type)) + (import.global_mutable ? " mutable" : " const");
        break;
    }
    out += "\n";
  }

  out += "exports (" + std::to_string(info.exports.size()) + "):\n";
  for (const ExportInfo& exp : info.exports) {
    out += "  " + printable_name(exp.name) + ": " + extern_kind_name(exp.kind) + " ";
    out += exp.kind == ExternKind::ExternKind_func ? func_type_to_string(exp.func_type)
                                                   : std::to_string(exp.index);
    out += "\n";
  }

  if (info.memories.empty()) out += "memory: none defined\n";
  for (size_t i = 0; i < info.memories.size(); ++i) {
    out += "memory " + std::to_string(i) + ": " + describe_memory(info.memories[i]) + "\n";
  }
  for (size_t i = 0; i < info.tables.size(); ++i) {
    out += "table " + std::to_string(i) + ": " + describe_table(info.tables[i]) + "\n";
  }
  out += "globals: " + std::to_string(info.n_globals) + " defined\n";
  out += info.has_start ? "start function: " + std::to_string(info.start_function) + "\n"
                        : std::string("start function: none\n");
  if (!info.custom_sections.empty()) {
    out += "custom sections:";
    for (const std::string& name : info.custom_sections) out += " " + printable_name(name);
    out += "\n";
  }
  out += "features: " + describe_features(info.features) + "\n";
  const std::string reason = unrunnable_reason(info);
  out += reason.empty() ? std::string("runnable: yes\n") : "runnable: no \u2014 " + reason + "\n";
  return out;
}

}  // namespace samepage
