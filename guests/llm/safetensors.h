// The safetensors container, read and written without a copy of the data:
// an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"k": "v", ...},
//    "name": {"dtype": "F16", "shape": [d0, ...], "data_offsets": [begin, end]}, ...}
// then the data, each tensor at [begin, end) of it, row-major. The reader
// takes untrusted bytes: every length, count and offset is bounded before
// use, tensors must tile the data exactly (no gaps, no overlaps, no slack),
// and any error names what is wrong. Plain C++: it builds natively for the
// tests and the fuzzer too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "status.h"

namespace llm {

enum class StDtype { St_f32, St_f16, St_bf16, St_i32, St_u8 };
const char* st_dtype_name(StDtype dtype);  // "F32", "F16", "BF16", "I32", "U8"
size_t st_dtype_size(StDtype dtype);

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::St_u8;
  std::vector<uint64_t> shape;  // outermost first; at most kStMaxDims
  uint64_t begin = 0, end = 0;  // byte range in the data section
  const uint8_t* data = nullptr;  // reader: begin's address; writer: null until finish()
  uint64_t n_elements() const;
};

constexpr size_t kStMaxDims = 8;
constexpr uint64_t kStMaxHeaderBytes = 100u << 20;  // the format's own bound
constexpr size_t kStMaxTensors = 4096;

class SafetensorsFile {
 public:
  // Parses bytes[0, n_bytes) in place: the result points into bytes.
  static Result<SafetensorsFile> parse(const uint8_t* bytes, size_t n_bytes);
  const std::vector<StTensor>& tensors() const { return tensors_; }
  const StTensor* find(std::string_view name) const;
  const std::string* metadata(std::string_view key) const;  // null when absent
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }

 private:
  std::vector<StTensor> tensors_;  // in header order
  std::vector<std::pair<std::string, std::string>> metadata_;
};

// Lays out a file: metadata and tensors first, then finish() returns the
// whole file with zeroed data, and data_of(i) where tensor i's bytes go
// (8-byte aligned when the buffer is: the header is padded with spaces).
class SafetensorsWriter {
 public:
  void add_metadata(std::string key, std::string value);
  size_t add_tensor(std::string name, StDtype dtype, std::vector<uint64_t> shape);  // its index
  std::vector<uint8_t> finish();
  uint8_t* data_of(std::vector<uint8_t>& file, size_t index) const;

 private:
  std::vector<StTensor> tensors_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  uint64_t data_start_ = 0;  // set by finish()
};

// JSON string escaping, as the writer uses it (exposed for tests).
std::string json_quote(std::string_view text);

}  // namespace llm
