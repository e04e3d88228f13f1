// What samepage learns from a WebAssembly binary before running it:
// imports (with their function types), exports, memory limits and the
// features it uses. Used by the engine (import check, refusal of modules
// this wasm2c cannot translate) and by `samepage inspect`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "samepage/status.h"

namespace samepage {

enum class ValType : uint8_t {
  ValType_i32 = 0x7f,
  ValType_i64 = 0x7e,
  ValType_f32 = 0x7d,
  ValType_f64 = 0x7c,
  ValType_v128 = 0x7b,
  ValType_funcref = 0x70,
  ValType_externref = 0x6f,
};
const char* val_type_name(ValType type);

struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;
  bool operator==(const FuncType&) const = default;
};
// "(i32, i64) -> i32" style, for messages.
std::string func_type_to_string(const FuncType& type);

enum class ExternKind : uint8_t {
  ExternKind_func = 0,
  ExternKind_table = 1,
  ExternKind_memory = 2,
  ExternKind_global = 3,
  ExternKind_tag = 4,
};
const char* extern_kind_name(ExternKind kind);

struct MemoryLimits {
  uint64_t min_pages = 0;
  bool has_max = false;
  uint64_t max_pages = 0;
  bool shared = false;   // threads proposal
  bool is64 = false;     // memory64 proposal
};

struct TableLimits {
  ValType elem_type = ValType::ValType_funcref;
  uint64_t min_entries = 0;
  bool has_max = false;
  uint64_t max_entries = 0;
};

struct ImportInfo {
  std::string module;
  std::string field;
  ExternKind kind = ExternKind::ExternKind_func;
  FuncType func_type;    // valid when kind is func or tag
  MemoryLimits memory;   // valid when kind is memory
  TableLimits table;     // valid when kind is table
  ValType global_type = ValType::ValType_i32;  // valid when kind is global
  bool global_mutable = false;                 // valid when kind is global
};

// A global the module defines (snapshots check a saved value against it).
struct GlobalInfo {
  ValType type = ValType::ValType_i32;
  bool is_mutable = false;
};

struct ExportInfo {
  std::string name;
  ExternKind kind = ExternKind::ExternKind_func;
  uint32_t index = 0;
  FuncType func_type;    // valid when kind is func
};

// Post-MVP features found in the module. samepage refuses simd, threads,
// memory64, multi-memory, exceptions, tail calls and extended constants
// (check_runnable says why); the others wasm2c 1.0.32 translates.
struct FeatureSet {
  bool simd = false;
  bool threads = false;          // shared memory or atomic instructions
  bool memory64 = false;
  bool multi_memory = false;
  bool exceptions = false;
  bool bulk_memory = false;
  bool reference_types = false;
  bool multi_value = false;
  bool sign_extension = false;
  bool saturating_float_to_int = false;
  bool tail_call = false;        // return_call, return_call_indirect
  bool extended_const = false;   // arithmetic in constant expressions
};

struct ModuleInfo {
  std::vector<FuncType> types;
  std::vector<ImportInfo> imports;
  std::vector<ExportInfo> exports;
  std::vector<MemoryLimits> memories;   // defined (not imported) memories
  std::vector<TableLimits> tables;      // defined (not imported) tables
  bool has_start = false;
  uint32_t start_function = 0;          // function index, valid when has_start
  uint32_t n_functions = 0;             // defined functions
  uint32_t n_globals = 0;               // defined globals
  std::vector<GlobalInfo> globals;      // defined globals, n_globals of them
  // Type index of every function, imported ones first (the function index space).
  std::vector<uint32_t> function_types;
  uint64_t data_bytes = 0;              // all data segments' contents together
  std::vector<std::string> custom_sections;  // names, in file order
  FeatureSet features;

  // Distinct import module names, in order of first appearance.
  std::vector<std::string> import_modules() const;
};

// Parses and structurally checks a binary module. Never crashes on bad input:
// a malformed module gives an error naming the section and byte offset.
Result<ModuleInfo> parse_module(const uint8_t* bytes, size_t n_bytes);

// Why samepage cannot run this module, or an ok status. Checks features
// (simd, threads, memory64, multi-memory, exceptions, tail calls, extended
// constant expressions) and imported memories/tables.
Status check_runnable(const ModuleInfo& info);

// Human-readable report for `samepage inspect`.
std::string describe_module(const ModuleInfo& info);

}  // namespace samepage
