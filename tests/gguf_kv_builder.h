// Builds a metadata-only GGUF v3 file in memory from typed key/values, for
// tokenizer and chat-template tests (vocabularies written by hand, or copied
// from the real model with one key changed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf.h"

namespace samepage::test {

class GgufKvBuilder {
 public:
  GgufKvBuilder& str(const std::string& key, const std::string& v) {
    begin(key, llm::GGUF_TYPE_STRING);
    put_str(v);
    return *this;
  }
  GgufKvBuilder& u32(const std::string& key, uint32_t v) { begin(key, llm::GGUF_TYPE_UINT32); return put(v); }
  GgufKvBuilder& i32(const std::string& key, int32_t v) { begin(key, llm::GGUF_TYPE_INT32); return put(v); }
  GgufKvBuilder& boolean(const std::string& key, bool v) {
    begin(key, llm::GGUF_TYPE_BOOL);
    return put<uint8_t>(v ? 1 : 0);
  }
  GgufKvBuilder& strs(const std::string& key, const std::vector<std::string>& v) {
    array_header(key, llm::GGUF_TYPE_STRING, v.size());
    for (const std::string& s : v) put_str(s);
    return *this;
  }
  GgufKvBuilder& i32s(const std::string& key, const std::vector<int32_t>& v) {
    array_header(key, llm::GGUF_TYPE_INT32, v.size());
    for (int32_t x : v) put(x);
    return *this;
  }
  GgufKvBuilder& f32s(const std::string& key, const std::vector<float>& v) {
    array_header(key, llm::GGUF_TYPE_FLOAT32, v.size());
    for (float x : v) put(x);
    return *this;
  }
  // The whole file: header, then the key/values in the order they were added.
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out = {'G', 'G', 'U', 'F'};
    append(out, uint32_t{3});
    append(out, uint64_t{0});        // n_tensors
    append(out, uint64_t{n_kv_});
    out.insert(out.end(), body_.begin(), body_.end());
    return out;
  }

 private:
  template <typename T>
  static void append(std::vector<uint8_t>& out, T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  template <typename T>
  GgufKvBuilder& put(T v) {
    append(body_, v);
    return *this;
  }
  void put_str(const std::string& s) {
    put<uint64_t>(s.size());
    body_.insert(body_.end(), s.begin(), s.end());
  }
  void begin(const std::string& key, uint32_t type) {
    ++n_kv_;
    put_str(key);
    put(type);
  }
  void array_header(const std::string& key, uint32_t elem_type, size_t n) {
    begin(key, llm::GGUF_TYPE_ARRAY);
    put(elem_type);
    put<uint64_t>(n);
  }

  std::vector<uint8_t> body_;  // key/values so far
  uint64_t n_kv_ = 0;
};

}  // namespace samepage::test
