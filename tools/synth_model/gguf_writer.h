// Builds a GGUF v3 header (magic, counts, metadata, tensor infos, padding to
// the data section) in memory; the tensor data is streamed after it by the
// caller. All values little-endian, as on every host we build for.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace synth {

constexpr uint32_t kGgufAlignment = 32;  // general.alignment's default; we write none

class GgufHeaderWriter {
 public:
  void add_u32(std::string_view key, uint32_t v);
  void add_u64(std::string_view key, uint64_t v);
  void add_f32(std::string_view key, float v);
  void add_bool(std::string_view key, bool v);
  void add_string(std::string_view key, std::string_view v);
  void add_string_array(std::string_view key, const std::vector<std::string>& v);
  void add_i32_array(std::string_view key, const std::vector<int32_t>& v);
  // dims: ne[0] first (fastest varying); offset from the data section start.
  void add_tensor(std::string_view name, const std::vector<uint64_t>& dims, uint32_t ggml_type,
                  uint64_t offset);

  // The whole header, zero-padded to a multiple of kGgufAlignment.
  std::vector<uint8_t> finish() const;

 private:
  void key(std::string_view k, uint32_t type);

  std::vector<uint8_t> kv_;       // serialized metadata entries
  std::vector<uint8_t> tensors_;  // serialized tensor infos
  uint64_t n_kv_ = 0;
  uint64_t n_tensors_ = 0;
};

}  // namespace synth
