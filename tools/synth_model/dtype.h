// The tensor types the synthetic writer emits: one table of facts (ggml type
// id, block size and bytes, llama file type, encoder).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace synth {

enum Dtype : uint32_t { DTYPE_F32, DTYPE_F16, DTYPE_BF16, DTYPE_Q8_0, DTYPE_Q4_0, DTYPE_Q4_1 };
constexpr uint32_t kNumDtypes = 6;

struct DtypeTraits {
  const char* name;          // as on the command line: "q8_0"
  uint32_t ggml_type;        // GGML_TYPE_* id in the file
  uint32_t block_elems;      // 1 for float types, 32 for quantized ones
  uint32_t block_bytes;      // bytes per block
  uint32_t llama_file_type;  // general.file_type (LLAMA_FTYPE_MOSTLY_*)
  void (*encode)(const float* x, size_t n, uint8_t* out);
};

const DtypeTraits& dtype_traits(Dtype t);
// false for an unknown name.
bool parse_dtype(std::string_view name, Dtype* out);

// Bytes of n elements; n is a multiple of block_elems.
inline uint64_t dtype_bytes(Dtype t, uint64_t n) {
  const DtypeTraits& d = dtype_traits(t);
  return n / d.block_elems * d.block_bytes;
}

}  // namespace synth
