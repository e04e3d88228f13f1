// GGUF v2/v3 reader over a file already in memory. Every count, length and
// offset is bounded by the bytes that remain before anything is allocated;
// strings, arrays and tensor data stay views into the caller's buffer, which
// must outlive the GgufFile. Multi-byte values are little-endian, as are the
// hosts we build for (wasm32, x86-64, aarch64).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "status.h"

namespace llm {

// GGUF metadata value types, ids 0..12 as in the file.
enum GgufType : uint32_t {
  GGUF_TYPE_UINT8 = 0,
  GGUF_TYPE_INT8 = 1,
  GGUF_TYPE_UINT16 = 2,
  GGUF_TYPE_INT16 = 3,
  GGUF_TYPE_UINT32 = 4,
  GGUF_TYPE_INT32 = 5,
  GGUF_TYPE_FLOAT32 = 6,
  GGUF_TYPE_BOOL = 7,
  GGUF_TYPE_STRING = 8,
  GGUF_TYPE_ARRAY = 9,
  GGUF_TYPE_UINT64 = 10,
  GGUF_TYPE_INT64 = 11,
  GGUF_TYPE_FLOAT64 = 12,
};
const char* gguf_type_name(uint32_t type);

// ggml tensor types that samepage can load; others are named in the error.
enum GgmlType : uint32_t {
  GGML_TYPE_F32 = 0,
  GGML_TYPE_F16 = 1,
  GGML_TYPE_Q4_0 = 2,
  GGML_TYPE_Q4_1 = 3,
  GGML_TYPE_Q8_0 = 8,
  GGML_TYPE_BF16 = 30,
};
// "Q4_K" for any ggml type id that ggml knows, "unknown" otherwise.
const char* ggml_type_name(uint32_t type);

constexpr uint32_t kGgufMaxDims = 4;
constexpr uint32_t kGgufDefaultAlignment = 32;

// One metadata value: a view into the file.
struct GgufValue {
  GgufType type = GGUF_TYPE_UINT8;  // the value's type
  const uint8_t* payload = nullptr; // scalar bytes, string chars, or first array element
  uint64_t n_payload_bytes = 0;     // bytes at payload (string: its length)
  GgufType elem_type = GGUF_TYPE_UINT8;  // arrays only: the element type
  uint64_t n_elems = 0;                  // arrays only: element count
  // Arrays of strings only: n_elems offsets from payload to each string's
  // length prefix, so string_at is O(1); bounded by n_elems, already checked
  // against the bytes left (each string takes at least 8).
  std::vector<uint64_t> string_offsets;

  // Element i of an array of strings; i < n_elems, elem_type == STRING.
  std::string_view string_at(uint64_t i) const;
  // Element i of an array of fixed-size scalars of type T (caller checks elem_type).
  template <typename T>
  T scalar_at(uint64_t i) const;
};

// One tensor: shape, type and a view of its bytes in the file.
struct GgufTensor {
  std::string_view name;              // e.g. "blk.0.attn_q.weight"
  uint32_t n_dims = 0;                // 1..4
  uint64_t dims[kGgufMaxDims] = {1, 1, 1, 1};  // ne[0] is the fastest-varying; unused dims are 1
  GgmlType type = GGML_TYPE_F32;      // one of the supported GgmlType values
  uint64_t offset = 0;                // from the start of the data section, aligned
  uint64_t n_elems = 0;               // product of dims
  uint64_t n_bytes = 0;               // bytes of data for this tensor
  const uint8_t* data = nullptr;      // n_bytes bytes inside the file buffer
};

class GgufFile {
 public:
  // Parses and validates the whole header; data must outlive the result.
  static Result<GgufFile> parse(const uint8_t* data, size_t n_bytes);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::vector<std::string_view>& keys() const { return keys_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }

  // nullptr when absent.
  const GgufValue* find(std::string_view key) const;
  const GgufTensor* find_tensor(std::string_view name) const;

  // Typed getters: an error names the key when absent or of another type.
  Result<uint32_t> get_u32(std::string_view key) const;
  Result<int32_t> get_i32(std::string_view key) const;
  Result<uint64_t> get_u64(std::string_view key) const;
  Result<float> get_f32(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  Result<std::string_view> get_string(std::string_view key) const;
  // An array whose elements have elem_type; the pointer stays valid with *this.
  Result<const GgufValue*> get_array(std::string_view key, GgufType elem_type) const;

 private:
  Result<const GgufValue*> typed(std::string_view key, GgufType type) const;

  uint32_t version_ = 0;                 // 2 or 3
  uint32_t alignment_ = kGgufDefaultAlignment;  // general.alignment, a power of two
  uint64_t data_offset_ = 0;             // file offset of the data section
  std::vector<std::string_view> keys_;   // metadata keys in file order
  std::vector<GgufValue> values_;        // values_[i] belongs to keys_[i]
  std::unordered_map<std::string_view, size_t> key_index_;     // key -> index into values_
  std::vector<GgufTensor> tensors_;      // tensor infos in file order
  std::unordered_map<std::string_view, size_t> tensor_index_;  // name -> index into tensors_
};

template <typename T>
T GgufValue::scalar_at(uint64_t i) const {
  T out{};
  __builtin_memcpy(&out, payload + i * sizeof(T), sizeof(T));
  return out;
}

}  // namespace llm
