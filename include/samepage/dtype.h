// Element types: one table of facts (ggml's type_traits[]) that the host API,
// every backend and the tools read. Numbered as the guest ABI's sp_dtype
// (guest-sdk/include/samepage_abi.h; src/api checks the numbers agree).
#pragma once

#include <cstddef>
#include <cstdint>

namespace samepage {

enum DType : int32_t {
  DType_f32 = 0,
  DType_f16 = 1,
  DType_bf16 = 2,
  DType_q8_0 = 3,  // GGUF block: f16 scale + 32 int8
  DType_q4_0 = 4,  // GGUF block: f16 scale + 32 nibbles
  DType_q4_1 = 5,  // GGUF block: f16 scale, f16 minimum + 32 nibbles
  DType_i32 = 6,
  DType_count,     // not a type: the number of types
};

struct DTypeTraits {
  const char* name;     // "f32", "q4_0", ...
  int64_t block_size;   // elements per block (1 for scalar types)
  int64_t block_bytes;  // bytes per block
  // Alignment a guest view needs: the element, or 2 for the quant blocks,
  // which kernels read as structs led by an f16 scale.
  uint32_t alignment;
  bool is_float;        // f32, f16, bf16: convertible into each other by copy
  bool is_quantized;
};

inline constexpr DTypeTraits kDTypeTraits[DType_count] = {
    {"f32", 1, 4, 4, true, false},
    {"f16", 1, 2, 2, true, false},
    {"bf16", 1, 2, 2, true, false},
    {"q8_0", 32, 34, 2, false, true},
    {"q4_0", 32, 18, 2, false, true},
    {"q4_1", 32, 20, 2, false, true},
    {"i32", 1, 4, 4, false, false},
};

constexpr bool dtype_valid(int32_t dtype) { return dtype >= 0 && dtype < DType_count; }
// The facts of a valid dtype; callers check dtype_valid first.
constexpr const DTypeTraits& dtype_traits(DType dtype) { return kDTypeTraits[dtype]; }
constexpr const char* dtype_name(DType dtype) { return dtype_valid(dtype) ? kDTypeTraits[dtype].name : "?"; }
constexpr int64_t dtype_block_size(DType dtype) { return dtype_valid(dtype) ? kDTypeTraits[dtype].block_size : 0; }
constexpr int64_t dtype_block_bytes(DType dtype) { return dtype_valid(dtype) ? kDTypeTraits[dtype].block_bytes : 0; }
constexpr uint32_t dtype_alignment(DType dtype) { return dtype_valid(dtype) ? kDTypeTraits[dtype].alignment : 1; }
constexpr bool dtype_is_float(DType dtype) { return dtype_valid(dtype) && kDTypeTraits[dtype].is_float; }
constexpr bool dtype_is_quantized(DType dtype) { return dtype_valid(dtype) && kDTypeTraits[dtype].is_quantized; }
// Types a matmul weight or an embedding table may have (all but i32).
constexpr bool dtype_is_weight(DType dtype) { return dtype_valid(dtype) && dtype != DType_i32; }

// Bytes of a row of n_elements; 0 when the dtype is invalid, n_elements < 0,
// or n_elements is not a whole number of blocks (a row cannot hold it).
constexpr size_t dtype_row_bytes(DType dtype, int64_t n_elements) {
  if (!dtype_valid(dtype) || n_elements < 0 || n_elements % kDTypeTraits[dtype].block_size != 0) return 0;
  return size_t(n_elements / kDTypeTraits[dtype].block_size) * size_t(kDTypeTraits[dtype].block_bytes);
}

// Bytes of a tensor (shape outermost first, 1 to 4 dims), or 0 when the dtype
// is unknown, a dim is out of (0, 2^32], the row is not whole blocks, or the
// element count passes 2^40 (a bound that keeps every product below 2^64).
uint64_t tensor_bytes(DType dtype, int n_dims, const int64_t* shape);

}  // namespace samepage
