#include "engine/glue_writer.h"

#include <map>
#include <sstream>

#include "engine/module_rewriter.h"
#include "engine/wasm_reader.h"

namespace samepage {
namespace {

char type_letter(ValType t) {
  switch (t) {
    case ValType::ValType_i32: return 'i';
    case ValType::ValType_i64: return 'I';
    case ValType::ValType_f32: return 'f';
    case ValType::ValType_f64: return 'F';
    case ValType::ValType_v128: return 'v';
    case ValType::ValType_funcref: return 'r';
    case ValType::ValType_externref: return 'e';
  }
  return '?';
}

bool letter_type(char c, ValType* out) {
  switch (c) {
    case 'i': *out = ValType::ValType_i32; return true;
    case 'I': *out = ValType::ValType_i64; return true;
    case 'f': *out = ValType::ValType_f32; return true;
    case 'F': *out = ValType::ValType_f64; return true;
    case 'v': *out = ValType::ValType_v128; return true;
    case 'r': *out = ValType::ValType_funcref; return true;
    case 'e': *out = ValType::ValType_externref; return true;
    default: return false;
  }
}

// Export comments in wasm2c's header: "/* export: 'NAME' */" then the
// declaration. The module wasm2c saw was rewritten, so every NAME must be a
// generated one; anything else means the header is not what we think it is.
Result<std::map<std::string, std::string>> exported_symbols(const std::string& header) {
  std::map<std::string, std::string> out;
  const std::string marker = "/* export: '";
  size_t pos = 0;
  while ((pos = header.find(marker, pos)) != std::string::npos) {
    const size_t name_begin = pos + marker.size();
    const size_t name_end = header.find("' */\n", name_begin);
    if (name_end == std::string::npos) break;
    const std::string name = header.substr(name_begin, name_end - name_begin);
    if (name.size() < 2 || name[0] != 'e' || name.find_first_not_of("0123456789", 1) != std::string::npos)
      return err("engine::glue", "wasm2c output names an export that samepage did not generate");
    const size_t decl_begin = name_end + 5;
    const size_t paren = header.find('(', decl_begin);
    const size_t line_end = header.find('\n', decl_begin);
    pos = decl_begin;
    if (paren == std::string::npos || paren > line_end) continue;
    size_t sym_begin = paren;
    while (sym_begin > decl_begin && (isalnum(static_cast<unsigned char>(header[sym_begin - 1])) ||
                                      header[sym_begin - 1] == '_'))
      --sym_begin;
    out[name] = header.substr(sym_begin, paren - sym_begin);
  }
  return out;
}

// Import comments in wasm2c's header: "/* import: 'MOD' 'FIELD' */" then
// "RET SYMBOL(struct Z_MOD_instance_t*, ...);". Gives, in import order, each
// function import's C symbol and the instance-struct field that holds its
// import context (what a funcref to it carries).
struct ImportSymbol {
  std::string symbol;
  std::string context_field;
};
Result<std::vector<ImportSymbol>> imported_symbols(const std::string& header) {
  std::vector<ImportSymbol> out;
  const std::string marker = "/* import: '";
  size_t pos = 0;
  while ((pos = header.find(marker, pos)) != std::string::npos) {
    const size_t decl_begin = header.find("*/\n", pos);
    if (decl_begin == std::string::npos) break;
    pos = decl_begin + 3;
    const size_t line_end = header.find('\n', pos);
    const size_t paren = header.find('(', pos);
    if (paren == std::string::npos || paren > line_end)
      return err("engine::glue", "wasm2c output declares an import samepage cannot read");
    size_t sym_begin = paren;
    while (sym_begin > pos && (isalnum(static_cast<unsigned char>(header[sym_begin - 1])) || header[sym_begin - 1] == '_'))
      --sym_begin;
    const std::string struct_kw = "struct ";
    const size_t star = header.find('*', paren);
    if (header.compare(paren + 1, struct_kw.size(), struct_kw) != 0 || star == std::string::npos || star > line_end)
      return err("engine::glue", "wasm2c output declares an import without its context parameter");
    std::string type = header.substr(paren + 1 + struct_kw.size(), star - paren - 1 - struct_kw.size());
    if (type.size() < 3 || type.compare(type.size() - 2, 2, "_t") != 0 || !is_c_identifier(type))
      return err("engine::glue", "wasm2c output names an import context samepage cannot read");
    out.push_back({header.substr(sym_begin, paren - sym_begin), type.substr(0, type.size() - 2)});
  }
  return out;
}

// Defined functions in wasm2c's .c, in index order, from its forward
// declarations "static RET NAME(Z_guest_instance_t*...);": an unnamed
// function is w2c_f<index>, an exported one is named after its (generated)
// export, so the names are read rather than guessed.
Result<std::vector<std::string>> defined_function_symbols(const std::string& source, size_t n_defined) {
  std::vector<std::string> out;
  const std::string param = std::string("(Z_") + kGuestModuleName + "_instance_t*";
  size_t pos = 0;
  while (out.size() < n_defined && (pos = source.find("\nstatic ", pos)) != std::string::npos) {
    const size_t line_begin = pos + 1;
    const size_t line_end = source.find('\n', line_begin);
    pos = line_begin;
    const std::string line = source.substr(line_begin, line_end == std::string::npos ? std::string::npos : line_end - line_begin);
    const size_t paren = line.find(param);
    if (paren == std::string::npos || line.size() < 2 || line.compare(line.size() - 2, 2, ");") != 0) continue;
    size_t sym_begin = paren;
    while (sym_begin > 0 && (isalnum(static_cast<unsigned char>(line[sym_begin - 1])) || line[sym_begin - 1] == '_'))
      --sym_begin;
    const std::string symbol = line.substr(sym_begin, paren - sym_begin);
    if (symbol.rfind("w2c_", 0) == 0) out.push_back(symbol);
  }
  if (out.size() != n_defined)
    return err("engine::glue", "wasm2c output declares " + std::to_string(out.size()) + " of the module's " +
                                   std::to_string(n_defined) + " functions");
  return out;
}

// The fields of wasm2c's instance struct that hold the module's globals and
// tables, in index order: "  TYPE NAME;" lines between "typedef struct
// Z_guest_instance_t {" and its end. A global or table that is exported is
// named after its (generated) export, so names are read, not guessed; each
// global's C type must be its value type's.
struct StateFields {
  std::vector<std::string> globals, tables;
};
const char* c_type_of(ValType t) {
  switch (t) {
    case ValType::ValType_i32: return "u32";
    case ValType::ValType_i64: return "u64";
    case ValType::ValType_f32: return "f32";
    case ValType::ValType_f64: return "f64";
    case ValType::ValType_funcref: return "wasm_rt_funcref_t";
    case ValType::ValType_externref: return "wasm_rt_externref_t";
    default: return "?";
  }
}
Result<StateFields> state_fields(const std::string& header, const ModuleInfo& info) {
  const std::string open = std::string("typedef struct Z_") + kGuestModuleName + "_instance_t {\n";
  const size_t begin = header.find(open);
  const size_t end = begin == std::string::npos ? begin : header.find("\n}", begin);
  StateFields out;
  if (end == std::string::npos) {
    if (info.globals.empty() && info.tables.empty()) return out;  // nothing to find
    return err("engine::glue", "wasm2c output has no instance struct");
  }
  std::istringstream lines(header.substr(begin + open.size(), end - begin - open.size()));
  std::string line;
  while (std::getline(lines, line)) {
    const size_t type_begin = line.find_first_not_of(' ');
    const size_t space = line.find(' ', type_begin);
    if (type_begin == std::string::npos || space == std::string::npos || line.back() != ';') continue;
    const std::string type = line.substr(type_begin, space - type_begin);
    const std::string name = line.substr(space + 1, line.size() - space - 2);
    if (!is_c_identifier(name)) continue;  // e.g. "struct X* Y;" import contexts
    if (type == "wasm_rt_funcref_table_t" || type == "wasm_rt_externref_table_t") {
      out.tables.push_back(name);
    } else if (type == "u32" || type == "u64" || type == "f32" || type == "f64" || type == "wasm_rt_funcref_t" ||
               type == "wasm_rt_externref_t") {
      const size_t i = out.globals.size();
      if (i >= info.globals.size() || type != c_type_of(info.globals[i].type))
        return err("engine::glue", "wasm2c's instance struct does not hold the module's globals as expected");
      out.globals.push_back(name);
    }
  }
  if (out.globals.size() != info.globals.size() || out.tables.size() != info.tables.size())
    return err("engine::glue", "wasm2c's instance struct holds " + std::to_string(out.globals.size()) + " globals and " +
                                   std::to_string(out.tables.size()) + " tables, the module " +
                                   std::to_string(info.globals.size()) + " and " + std::to_string(info.tables.size()));
  return out;
}

size_t global_bytes(ValType t) {
  switch (t) {
    case ValType::ValType_i32: case ValType::ValType_f32: return 4;
    case ValType::ValType_i64: case ValType::ValType_f64: return 8;
    default: return 0;  // references: sizeof of their wasm-rt struct, checked by type
  }
}

// The tables a snapshot reads and writes state through (glue ABI 3): every
// defined global (type, mutability, where it lives in the instance struct),
// every defined table, and every function of the index space as the funcref
// wasm2c would make of it. Names are read from wasm2c's output (the
// instance struct, the forward declarations); a mismatch fails to compile.
Status write_state_tables(std::ostringstream& c, const std::string& header, const std::string& source,
                          const ModuleInfo& info) {
  const std::string prefix = std::string("Z_") + kGuestModuleName + "_instance_t";
  uint32_t n_imported_funcs = 0;
  for (const ImportInfo& imp : info.imports) n_imported_funcs += imp.kind == ExternKind::ExternKind_func;
  auto fields = state_fields(header, info);
  if (!fields) return fields.status();
  c << "typedef struct { char type; unsigned char is_mutable; size_t offset; } sp_glue_global;\n"
    << "typedef struct { char elem_type; size_t offset; } sp_glue_table;\n"
    << "typedef struct { const char* signature; wasm_rt_function_ptr_t fn; size_t module_offset; const u32* type_id; } sp_glue_function;\n"
    << "static const sp_glue_global g_globals[] = {\n";
  for (size_t i = 0; i < info.globals.size(); ++i) {
    const std::string& field = fields->globals[i];
    const GlobalInfo& g = info.globals[i];
    c << "  {'" << type_letter(g.type) << "', " << (g.is_mutable ? 1 : 0) << ", offsetof(" << prefix << ", " << field
      << ")},\n";
  }
  c << "  {0, 0, 0}\n};\n";
  for (size_t i = 0; i < info.globals.size(); ++i) {
    const std::string field = "((" + prefix + "*)0)->" + fields->globals[i];
    const ValType t = info.globals[i].type;
    const std::string size = global_bytes(t) != 0 ? std::to_string(global_bytes(t))
                             : t == ValType::ValType_funcref ? "sizeof(wasm_rt_funcref_t)" : "sizeof(wasm_rt_externref_t)";
    c << "_Static_assert(sizeof(" << field << ") == " << size << ", \"global " << i << " has the size of its type\");\n";
  }
  c << "static const sp_glue_table g_tables[] = {\n";
  for (size_t i = 0; i < info.tables.size(); ++i)
    c << "  {'" << type_letter(info.tables[i].elem_type) << "', offsetof(" << prefix << ", " << fields->tables[i] << ")},\n";
  c << "  {0, 0}\n};\n";
  auto imports = imported_symbols(header);
  if (!imports) return imports.status();
  if (imports->size() != n_imported_funcs)
    return err("engine::glue", "wasm2c output declares " + std::to_string(imports->size()) + " function imports, the module " +
                                   std::to_string(n_imported_funcs));
  auto defined = defined_function_symbols(source, info.function_types.size() - n_imported_funcs);
  if (!defined) return defined.status();
  c << "static const sp_glue_function g_functions[] = {\n";
  for (size_t i = 0; i < info.function_types.size(); ++i) {
    const uint32_t type = info.function_types[i];
    if (type >= info.types.size()) return err("engine::glue", "function " + std::to_string(i) + " has no type");
    c << "  {\"" << signature_code(info.types[type]) << "\", (wasm_rt_function_ptr_t)";
    if (i < n_imported_funcs)
      c << (*imports)[i].symbol << ", offsetof(" << prefix << ", " << (*imports)[i].context_field << ")";
    else
      c << "&" << (*defined)[i - n_imported_funcs] << ", 0";
    c << ", &func_types[" << type << "]},\n";
  }
  c << "  {NULL, NULL, 0, NULL}\n};\n"
    << "SP_EXPORT const sp_glue_global* samepage_glue_globals(size_t* n) { *n = " << info.globals.size()
    << "; return g_globals; }\n"
    << "SP_EXPORT const sp_glue_table* samepage_glue_tables(size_t* n) { *n = " << info.tables.size()
    << "; return g_tables; }\n"
    << "SP_EXPORT const sp_glue_function* samepage_glue_functions(size_t* n) { *n = " << info.function_types.size()
    << "; return g_functions; }\n";
  return Status::ok();
}

std::string c_string_literal(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    // '?' too: "??/" is a backslash wherever trigraphs are on.
    if (c == '"' || c == '\\' || c == '?') { out += '\\'; out += static_cast<char>(c); }
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

}  // namespace

std::string signature_code(const FuncType& type) {
  std::string code;
  for (ValType t : type.params) code += type_letter(t);
  code += ':';
  for (ValType t : type.results) code += type_letter(t);
  return code;
}

std::string encode_import_list(const ModuleInfo& info) {
  std::string out;
  for (const ImportInfo& imp : info.imports) {
    if (imp.kind != ExternKind::ExternKind_func) continue;
    out += imp.module + "\t" + imp.field + "\t" + signature_code(imp.func_type) + "\n";
  }
  return out;
}

Result<std::vector<ImportInfo>> decode_import_list(const std::string& text) {
  std::vector<ImportInfo> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t tab1 = line.find('\t');
    const size_t tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string::npos) return err("engine::imports", "malformed import list line: " + line);
    ImportInfo imp;
    imp.module = line.substr(0, tab1);
    imp.field = line.substr(tab1 + 1, tab2 - tab1 - 1);
    const std::string sig = line.substr(tab2 + 1);
    bool in_results = false;
    for (char c : sig) {
      ValType t;
      if (c == ':') { in_results = true; continue; }
      if (!letter_type(c, &t)) return err("engine::imports", "malformed signature: " + sig);
      (in_results ? imp.func_type.results : imp.func_type.params).push_back(t);
    }
    out.push_back(std::move(imp));
  }
  return out;
}

Result<std::string> write_glue(const std::string& header, const ModuleInfo& info, const std::string& wasm_sha256,
                               const std::string& source) {
  const std::string prefix = std::string("Z_") + kGuestModuleName;
  // Count the import-instance parameters of instantiate: one per imported module.
  const std::string inst_decl = "void " + prefix + "_instantiate(";
  const size_t decl = header.find(inst_decl);
  if (decl == std::string::npos) return err("engine::glue", "no instantiate function in wasm2c output");
  const size_t decl_end = header.find(')', decl);
  int n_import_modules = 0;
  for (size_t i = decl + inst_decl.size(); i < decl_end; ++i) n_import_modules += header[i] == ',';

  auto symbols = exported_symbols(header);
  if (!symbols) return symbols.status();
  std::ostringstream c;
  c << "/* Generated by samepage: fixed-ABI glue over wasm2c output. */\n"
    // One translation unit with wasm2c's output: the state tables name its
    // static functions and its func_types.
    << "#include <stddef.h>\n#include \"" << kGuestModuleName << ".c\"\n"
    << "#define SP_EXPORT __attribute__((visibility(\"default\")))\n"
    << "typedef struct { const char* name; size_t name_bytes; const char* signature; void (*fn)(void); } sp_glue_func;\n"
    << "SP_EXPORT unsigned samepage_glue_abi(void) { return " << kGlueAbiVersion << "; }\n"
    << "SP_EXPORT const char* samepage_glue_wasm_sha256(void) { return \"" << wasm_sha256 << "\"; }\n"
    << "SP_EXPORT const char* samepage_glue_imports(void) { return "
    << c_string_literal(encode_import_list(info)) << "; }\n"
    << "SP_EXPORT size_t samepage_glue_instance_size(void) { return sizeof(" << prefix
    << "_instance_t); }\n"
    << "SP_EXPORT void samepage_glue_init_module(void) { " << prefix << "_init_module(); }\n"
    << "SP_EXPORT void samepage_glue_instantiate(void* instance, void* import_context) {\n"
    << "  " << prefix << "_instantiate((" << prefix << "_instance_t*)instance";
  for (int i = 0; i < n_import_modules; ++i) c << ", import_context";
  c << ");\n}\n"
    << "SP_EXPORT void samepage_glue_free(void* instance) { " << prefix << "_free((" << prefix
    << "_instance_t*)instance); }\n"
    << "static const sp_glue_func g_exports[] = {\n";
  size_t n_exports = 0;
  for (size_t i = 0; i < info.exports.size(); ++i) {
    const ExportInfo& exp = info.exports[i];
    if (exp.kind != ExternKind::ExternKind_func) continue;
    // wasm2c saw the generated name; the real one exists only in this literal.
    auto it = symbols->find(generated_export_name(i));
    if (it == symbols->end())
      return err("engine::glue", "wasm2c output lacks export " + generated_export_name(i) + " ('" +
                                     printable_name(exp.name) + "')");
    c << "  {" << c_string_literal(exp.name) << ", " << exp.name.size() << ", \"" << signature_code(exp.func_type)
      << "\", (void (*)(void))&" << it->second << "},\n";
    ++n_exports;
  }
  c << "  {NULL, 0, NULL, NULL}\n};\n"
    << "SP_EXPORT const sp_glue_func* samepage_glue_exports(size_t* n) { *n = " << n_exports
    << "; return g_exports; }\n";
  if (Status s = write_state_tables(c, header, source, info); !s) return s;
  return c.str();
}

}  // namespace samepage
