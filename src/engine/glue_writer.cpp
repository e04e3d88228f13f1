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

Result<std::string> write_glue(const std::string& header, const ModuleInfo& info,
                               const std::string& wasm_sha256) {
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
    << "#include <stddef.h>\n#include \"" << kGuestModuleName << ".h\"\n"
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
  return c.str();
}

}  // namespace samepage
