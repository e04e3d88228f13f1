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

#include "samepage/status.h"

namespace samepage::cpu {

enum DType : int32_t {
  DType_f32 = 0,
  DType_f16,
  DType_bf16,
  DType_q8_0,
  DType_q4_0,
  DType_q4_1,
  DType_i32,
  DType_count,  // not a type: the number of types
};

// Elements per quant block, identical for the three GGUF types used here.
inline constexpr int64_t kQuantBlock = 32;

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
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20,
              "ggml block layouts are packed with 2-byte alignment");

bool dtype_valid(DType dtype);
const char* dtype_name(DType dtype);  // "f32", "q4_0", ...; "?" when invalid
int64_t dtype_block_size(DType dtype);   // elements per block; 0 when invalid
int64_t dtype_block_bytes(DType dtype);  // bytes per block; 0 when invalid
bool dtype_is_quantized(DType dtype);    // q8_0, q4_0, q4_1
// Types a matmul weight or an embedding table may have (all but i32).
bool dtype_is_weight(DType dtype);

// Bytes of a row of n_elements; 0 when the dtype is invalid, n_elements < 0,
// or n_elements is not a multiple of the block size (a row cannot hold it).
size_t row_bytes(DType dtype, int64_t n_elements);

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
