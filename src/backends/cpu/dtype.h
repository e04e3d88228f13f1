// CPU backend: element types, GGUF/ggml block layouts, f16/bf16 conversion and
// reference (de)quantizers.
//
// The quant layouts are byte-compatible with ggml so that GGUF weights mapped
// into guest memory are used in place. A row of n elements of a block type is
// n / 32 consecutive blocks; rows whose length is not a multiple of the block
// size are not representable and every entry point refuses them.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "samepage/dtype.h"
#include "samepage/status.h"

namespace samepage::cpu {

// The element types and their facts are the shared table's (samepage/dtype.h);
// the names stay usable as cpu:: ones for the kernels.
using samepage::DType;
using enum samepage::DType;
using samepage::dtype_block_bytes;
using samepage::dtype_block_size;
using samepage::dtype_is_quantized;
using samepage::dtype_is_weight;
using samepage::dtype_name;
using samepage::dtype_valid;

// Elements per quant block, identical for the three GGUF types used here.
inline constexpr int64_t kQuantBlock = 32;
static_assert(kQuantBlock == dtype_block_size(DType_q8_0) && kQuantBlock == dtype_block_size(DType_q4_0) &&
              kQuantBlock == dtype_block_size(DType_q4_1));

// ggml block_q8_0: value = qs[i] * d.
struct BlockQ8_0 {
  uint16_t d;              // f16 scale
  int8_t qs[kQuantBlock];  // (32) elements 0..31
};
// ggml block_q4_0: value = (nibble - 8) * d. Byte j holds element j in its low
// nibble and element j + 16 in its high nibble.
struct BlockQ4_0 {
  uint16_t d;                   // f16 scale
  uint8_t qs[kQuantBlock / 2];  // (16) nibbles, order above
};
// ggml block_q4_1: value = nibble * d + m, nibble order as q4_0.
struct BlockQ4_1 {
  uint16_t d;                   // f16 scale
  uint16_t m;                   // f16 minimum
  uint8_t qs[kQuantBlock / 2];  // (16) nibbles
};
static_assert(sizeof(BlockQ8_0) == dtype_block_bytes(DType_q8_0) && sizeof(BlockQ4_0) == dtype_block_bytes(DType_q4_0) &&
                  sizeof(BlockQ4_1) == dtype_block_bytes(DType_q4_1),
              "ggml block layouts (packed with 2-byte alignment) match the dtype table");

// Bytes of a row of n_elements; 0 when it is not a whole number of blocks.
inline size_t row_bytes(DType dtype, int64_t n_elements) { return samepage::dtype_row_bytes(dtype, n_elements); }

// IEEE binary16 and bfloat16. f32 → 16-bit rounds to nearest, ties to even;
// overflow gives ±inf; NaN stays NaN (quiet, sign and top payload kept).
uint16_t f32_to_f16(float value);
float f16_to_f32(uint16_t half);
uint16_t f32_to_bf16(float value);
inline float bf16_to_f32(uint16_t half) { return std::bit_cast<float>(uint32_t(half) << 16); }

// dst[0..n) = src row of n elements of dtype (any type but i32).
Status dequantize_row(DType dtype, const void* src, float* dst, int64_t n);
// dst = src row (n elements) stored as dtype, ggml-compatible reference
// quantizers: q8_0 d = amax/127; q4_0 d = max/-8 (max: the signed value of
// largest magnitude); q4_1 d = (max-min)/15, m = min.
Status quantize_row(DType dtype, const float* src, void* dst, int64_t n);

}  // namespace samepage::cpu
