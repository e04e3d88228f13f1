#include "gguf_writer.h"

#include <cstring>

namespace synth {
namespace {

// GGUF metadata value type ids.
constexpr uint32_t kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9, kU64 = 10;

template <typename T>
void put(std::vector<uint8_t>* out, T v) {
  const size_t at = out->size();
  out->resize(at + sizeof(T));
  std::memcpy(out->data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>* out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out->insert(out->end(), s.begin(), s.end());
}

}  // namespace

void GgufHeaderWriter::key(std::string_view k, uint32_t type) {
  put_string(&kv_, k);
  put<uint32_t>(&kv_, type);
  ++n_kv_;
}

void GgufHeaderWriter::add_u32(std::string_view k, uint32_t v) { key(k, kU32), put(&kv_, v); }
void GgufHeaderWriter::add_u64(std::string_view k, uint64_t v) { key(k, kU64), put(&kv_, v); }
void GgufHeaderWriter::add_f32(std::string_view k, float v) { key(k, kF32), put(&kv_, v); }
void GgufHeaderWriter::add_bool(std::string_view k, bool v) {
  key(k, kBool), put<uint8_t>(&kv_, v ? 1 : 0);
}
void GgufHeaderWriter::add_string(std::string_view k, std::string_view v) {
  key(k, kString), put_string(&kv_, v);
}

void GgufHeaderWriter::add_string_array(std::string_view k, const std::vector<std::string>& v) {
  key(k, kArray);
  put<uint32_t>(&kv_, kString);
  put<uint64_t>(&kv_, v.size());
  for (const std::string& s : v) put_string(&kv_, s);
}

void GgufHeaderWriter::add_i32_array(std::string_view k, const std::vector<int32_t>& v) {
  key(k, kArray);
  put<uint32_t>(&kv_, kI32);
  put<uint64_t>(&kv_, v.size());
  for (int32_t x : v) put(&kv_, x);
}

void GgufHeaderWriter::add_tensor(std::string_view name, const std::vector<uint64_t>& dims,
                                  uint32_t ggml_type, uint64_t offset) {
  put_string(&tensors_, name);
  put<uint32_t>(&tensors_, static_cast<uint32_t>(dims.size()));
  for (uint64_t d : dims) put(&tensors_, d);
  put<uint32_t>(&tensors_, ggml_type);
  put<uint64_t>(&tensors_, offset);
  ++n_tensors_;
}

std::vector<uint8_t> GgufHeaderWriter::finish() const {
  std::vector<uint8_t> out;
  out.reserve(24 + kv_.size() + tensors_.size() + kGgufAlignment);
  put<uint32_t>(&out, 0x46554747u);  // "GGUF" in file byte order
  put<uint32_t>(&out, 3);
  put<uint64_t>(&out, n_tensors_);
  put<uint64_t>(&out, n_kv_);
  out.insert(out.end(), kv_.begin(), kv_.end());
  out.insert(out.end(), tensors_.begin(), tensors_.end());
  out.resize((out.size() + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment, 0);
  return out;
}

}  // namespace synth
