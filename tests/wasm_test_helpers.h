// Helpers for the module parser tests: WAT fixtures through wat2wasm, running
// WABT/clang tools, and assembling small binary modules byte by byte.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "samepage/module_info.h"
#include "test_paths.h"

namespace samepage::wasm_test {

using Bytes = std::vector<uint8_t>;

inline std::string fixture_path(const std::string& name) {
  return test::test_data_dir() + "/module_parser/" + name;
}

inline std::string temp_dir() {
  std::string tmpl = ::testing::TempDir() + "samepage-parser-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  return tmpl;
}

inline Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Runs a shell command; returns its exit status and fills `output` with
// stdout and stderr.
inline int run_command(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) text.append(buf, n);
  const int status = pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline bool have_tool(const std::string& name) {
  return run_command("command -v " + name + " >/dev/null") == 0;
}

// Assembles a .wat file; `flags` enable proposals (wat2wasm 1.0.32 has simd,
// bulk memory, reference types and multi-value on by default).
inline Bytes wat_file_to_wasm(const std::string& wat_path, const std::string& flags = "") {
  const std::string out = temp_dir() + "/m.wasm";
  std::string log;
  const std::string cmd = "wat2wasm " + flags + " '" + wat_path + "' -o '" + out + "'";
  if (run_command(cmd, &log) != 0) {
    ADD_FAILURE() << cmd << " failed:\n" << log;
    return {};
  }
  return read_bytes(out);
}

inline Bytes fixture(const std::string& name, const std::string& flags = "") {
  return wat_file_to_wasm(fixture_path(name + ".wat"), flags);
}

inline Bytes wat_to_wasm(const std::string& wat, const std::string& flags = "") {
  const std::string path = temp_dir() + "/m.wat";
  std::ofstream(path) << wat;
  return wat_file_to_wasm(path, flags);
}

inline Result<ModuleInfo> parse(const Bytes& bytes) { return parse_module(bytes.data(), bytes.size()); }

// ---- binary assembly -------------------------------------------------------

inline void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

inline Bytes leb(uint64_t value) {
  Bytes out;
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(byte);
  } while (value != 0);
  return out;
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) append(out, part);
  return out;
}

inline Bytes section(uint8_t id, const Bytes& payload) {
  return cat({{id}, leb(payload.size()), payload});
}

inline Bytes module_of(std::initializer_list<Bytes> sections) {
  Bytes out = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  for (const Bytes& s : sections) append(out, s);
  return out;
}

// One type () -> (), and a code section with the given bodies (each body:
// local declarations followed by instructions, with the final 0x0b).
inline Bytes type_section_void() { return section(1, {0x01, 0x60, 0x00, 0x00}); }
inline Bytes function_section(uint32_t n_functions) {
  Bytes payload = leb(n_functions);
  for (uint32_t i = 0; i < n_functions; ++i) payload.push_back(0x00);
  return section(3, payload);
}
inline Bytes code_section(std::initializer_list<Bytes> bodies) {
  Bytes payload = leb(bodies.size());
  for (const Bytes& body : bodies) append(payload, cat({leb(body.size()), body}));
  return section(10, payload);
}
inline Bytes memory_section_1page() { return section(5, {0x01, 0x00, 0x01}); }

// A module with one function () -> () whose body is `body` (no locals).
inline Bytes one_function_module(const Bytes& body, bool with_memory = false) {
  const Bytes full_body = cat({{0x00}, body});
  if (with_memory) {
    return module_of({type_section_void(), function_section(1), memory_section_1page(), code_section({full_body})});
  }
  return module_of({type_section_void(), function_section(1), code_section({full_body})});
}

// Where each section of a well-formed module lies.
struct SectionSpan {
  uint8_t id = 0;
  size_t start = 0;           // offset of the id byte
  size_t payload_start = 0;
  size_t payload_size = 0;
};

inline std::vector<SectionSpan> section_spans(const Bytes& module) {
  std::vector<SectionSpan> spans;
  size_t pos = 8;
  while (pos < module.size()) {
    SectionSpan span;
    span.id = module[pos];
    span.start = pos++;
    uint64_t size = 0;
    unsigned shift = 0;
    while (pos < module.size()) {
      const uint8_t byte = module[pos++];
      size |= static_cast<uint64_t>(byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) == 0) break;
    }
    span.payload_start = pos;
    span.payload_size = size;
    spans.push_back(span);
    pos += size;
  }
  return spans;
}

inline const char* section_name(uint8_t id) {
  static const char* const kNames[] = {"custom", "type", "import", "function", "table", "memory", "global",
                                       "export", "start", "element", "code", "data", "datacount", "tag"};
  return id < 14 ? kNames[id] : "unknown";
}

}  // namespace samepage::wasm_test
