// Shared by the module-pipeline fuzz target and its bounded gtest: builds
// modules whose names are hostile C (from fuzz bytes), runs them through the
// engine's own rewrite → wasm2c → glue path, and checks that no name a
// module chose reaches the generated C outside an escaped string literal.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/module_rewriter.h"
#include "engine/translator.h"
#include "samepage/module_info.h"

namespace samepage::pipeline_check {

using Bytes = std::vector<uint8_t>;

// Reads choices from fuzz bytes; past the end every read is 0.
class ByteSource {
 public:
  ByteSource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  size_t below(size_t n) { return n == 0 ? 0 : byte() % n; }
  bool empty() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Snippets that would do harm if they reached C text unescaped.
inline const std::vector<std::string>& hostile_snippets() {
  static const std::vector<std::string> kSnippets = {
      "*/", "/*", "\n#include \"/etc/passwd\"\n", " __attribute__((constructor)) static void x(void){} ",
      "\"", "\\", "?\?/", "'", "\r", "\t", "%s%n", "\xc3\xa9", "\xe2\x80\xae", "\x7f", "#define Z_guest 1\n",
      "\\\n", "}", "{", ";", " ", "//", std::string("\0", 1), "e0", "Z_guest_instantiate", "\n#error x\n"};
  return kSnippets;
}

inline void put_leb(Bytes& out, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v != 0) b |= 0x80;
    out.push_back(b);
  } while (v != 0);
}
inline void put_name(Bytes& out, const std::string& s) {
  put_leb(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}
inline void put_section(Bytes& out, uint8_t id, const Bytes& payload) {
  out.push_back(id);
  put_leb(out, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
}

// A distinctive, hostile name: a marker no generated C contains, then snippets.
inline std::string hostile_name(ByteSource& src, size_t serial) {
  std::string name = "SPZ" + std::to_string(serial);
  const size_t n = 1 + src.below(4);
  for (size_t i = 0; i < n; ++i) name += hostile_snippets()[src.below(hostile_snippets().size())];
  return name;
}

// A valid module (by samepage's parser) shaped by `src`: functions
// returning 100 + their index, a memory, a global, a table, exports of each
// kind with hostile names, sometimes a WASI import (or one with a hostile
// name), a name section and other custom sections with hostile contents.
inline Bytes build_hostile_module(ByteSource& src) {
  size_t serial = 0;
  const size_t n_funcs = 1 + src.below(4);
  const int import_mode = static_cast<int>(src.below(4));  // 0: none, 1: fd_write, 2: hostile names, 3: none
  Bytes m = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  // Types: 0 = () -> i32, 1 = (i32 i32 i32 i32) -> i32 (fd_write).
  put_section(m, 1, {0x02, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f});
  const bool has_import = import_mode == 1 || import_mode == 2;
  if (has_import) {
    Bytes imports = {0x01};
    put_name(imports, import_mode == 1 ? "wasi_snapshot_preview1" : hostile_name(src, serial++));
    put_name(imports, import_mode == 1 ? "fd_write" : hostile_name(src, serial++));
    imports.insert(imports.end(), {0x00, 0x01});
    put_section(m, 2, imports);
  }
  Bytes funcs;
  put_leb(funcs, n_funcs);
  for (size_t i = 0; i < n_funcs; ++i) funcs.push_back(0x00);
  put_section(m, 3, funcs);
  put_section(m, 4, {0x01, 0x70, 0x00, 0x01});              // table: 1 funcref
  put_section(m, 5, {0x01, 0x00, 0x01});                    // memory: 1 page
  put_section(m, 6, {0x01, 0x7f, 0x00, 0x41, 0x2a, 0x0b});  // global i32 = 42
  const size_t first_func = has_import ? 1 : 0;
  Bytes exports;
  const size_t n_exports = 1 + src.below(6);
  put_leb(exports, n_exports);
  for (size_t i = 0; i < n_exports; ++i) {
    put_name(exports, hostile_name(src, serial++));
    const uint8_t kind = src.below(3) == 0 ? static_cast<uint8_t>(src.below(4)) : 0;
    exports.push_back(kind);
    put_leb(exports, kind == 0 ? first_func + src.below(n_funcs) : 0);
  }
  put_section(m, 7, exports);
  Bytes code;
  put_leb(code, n_funcs);
  for (size_t i = 0; i < n_funcs; ++i) {
    Bytes body = {0x00, 0x41};  // no locals; i32.const
    put_leb(body, 100 + i);     // small positive: one-byte-safe signed LEB below 0x40 needs care
    if (body.back() & 0x40) { body.back() |= 0x80; body.push_back(0x00); }
    body.push_back(0x0b);
    put_leb(code, body.size());
    code.insert(code.end(), body.begin(), body.end());
  }
  put_section(m, 10, code);
  Bytes data = {0x01, 0x00, 0x41, 0x00, 0x0b};
  const std::string blob = hostile_name(src, serial++);
  put_name(data, blob);
  put_section(m, 11, data);
  // The name section: function names and a module name, all hostile.
  Bytes names;
  put_name(names, "name");
  Bytes module_name;
  put_name(module_name, hostile_name(src, serial++));
  names.push_back(0x00);
  put_leb(names, module_name.size());
  names.insert(names.end(), module_name.begin(), module_name.end());
  Bytes func_names;
  put_leb(func_names, n_funcs);
  for (size_t i = 0; i < n_funcs; ++i) {
    put_leb(func_names, first_func + i);
    put_name(func_names, hostile_name(src, serial++));
  }
  names.push_back(0x01);
  put_leb(names, func_names.size());
  names.insert(names.end(), func_names.begin(), func_names.end());
  m.push_back(0x00);
  put_leb(m, names.size());
  m.insert(m.end(), names.begin(), names.end());
  if (src.below(2) == 0) {
    Bytes other;
    put_name(other, hostile_name(src, serial++));
    const std::string contents = hostile_name(src, serial++);
    other.insert(other.end(), contents.begin(), contents.end());
    m.push_back(0x00);
    put_leb(m, other.size());
    m.insert(m.end(), other.begin(), other.end());
  }
  return m;
}

// Flips a few bytes past the header (most results no longer parse).
inline void mutate(Bytes& m, ByteSource& src) {
  const size_t n = 1 + src.below(3);
  for (size_t i = 0; i < n && m.size() > 8; ++i) m[8 + src.below(m.size() - 8)] ^= static_cast<uint8_t>(1 + src.byte() % 255);
}

// C with its string and character literals blanked out, so a name inside
// an (escaped) literal does not count as reaching the code.
inline std::string without_literals(const std::string& c) {
  std::string out;
  out.reserve(c.size());
  char quote = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    const char ch = c[i];
    if (quote == 0) {
      if (ch == '"' || ch == '\'') quote = ch;
      out += ch;
    } else if (ch == '\\' && i + 1 < c.size()) {
      ++i;
    } else if (ch == quote) {
      quote = 0;
      out += ch;
    }
  }
  return out;
}

// Names worth searching for: not plain identifiers (those are harmless in
// C), long enough and with enough letters that C text does not contain them
// by chance.
inline bool worth_checking(const std::string& name) {
  if (is_c_identifier(name) || name.size() < 6) return false;
  size_t n_alnum = 0;
  for (char c : name) n_alnum += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return n_alnum >= 3;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CheckResult {
  bool translated = false;  // wasm2c and the glue writer produced C
  std::string leak;         // empty: nothing leaked
};

// Runs one module through rewrite → wasm2c → glue in `work_dir`.
inline CheckResult check_module(const Bytes& wasm, const std::string& work_dir, const std::string& wasm2c) {
  CheckResult result;
  auto info = parse_module(wasm.data(), wasm.size());
  if (!info || !check_runnable(info.value())) return result;
  std::vector<std::string> names;
  for (const ExportInfo& e : info->exports) names.push_back(e.name);
  for (const ImportInfo& i : info->imports) names.insert(names.end(), {i.module, i.field});
  names.insert(names.end(), info->custom_sections.begin(), info->custom_sections.end());

  auto rewritten = rewrite_for_translation(wasm);
  if (!rewritten) {
    bool hostile_import = false;
    for (const ImportInfo& i : info->imports)
      hostile_import |= !is_c_identifier(i.module) || !is_c_identifier(i.field) || i.kind != ExternKind::ExternKind_func;
    if (!hostile_import) result.leak = "rewrite refused a module without hostile imports: " + rewritten.message();
    return result;
  }
  auto again = parse_module(rewritten->data(), rewritten->size());
  if (!again) {
    result.leak = "the rewritten module does not parse: " + again.message();
    return result;
  }
  if (!again->custom_sections.empty()) result.leak = "the rewritten module keeps a custom section";
  if (again->exports.size() != info->exports.size()) result.leak = "the rewrite lost exports";
  for (size_t i = 0; i < again->exports.size() && result.leak.empty(); ++i) {
    const ExportInfo& a = again->exports[i];
    const ExportInfo& b = info->exports[i];
    if (a.name != generated_export_name(i) || a.kind != b.kind || a.index != b.index)
      result.leak = "export " + std::to_string(i) + " was not renamed in place";
  }
  if (again->n_functions != info->n_functions || again->data_bytes != info->data_bytes ||
      again->imports.size() != info->imports.size())
    result.leak = "the rewrite changed more than names";
  if (!result.leak.empty()) return result;

  CompileLimits limits;
  limits.timeout_s = 60;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limits.timeout_s);
  auto translated = translate_module(wasm, info.value(), std::string(64, '0'), work_dir, wasm2c, limits, deadline);
  std::vector<std::pair<std::string, std::string>> texts;  // (what, text)
  if (!translated) {
    texts.push_back({"the translation error", translated.message()});
  } else {
    result.translated = true;
    texts.push_back({"wasm2c's .c", read_text(translated->c_path)});
    texts.push_back({"wasm2c's .h", read_text(work_dir + "/guest.h")});
    texts.push_back({"the glue outside literals", without_literals(read_text(translated->glue_path))});
  }
  for (const std::string& name : names) {
    if (!worth_checking(name)) continue;
    for (const auto& [what, text] : texts)
      if (text.find(name) != std::string::npos) result.leak = what + " contains the module-supplied name '" + name + "'";
  }
  return result;
}

}  // namespace samepage::pipeline_check
