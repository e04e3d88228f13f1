// (nvcc only: included by the .cu files.)
// Element decoding on the device, byte-compatible with the CPU backend's
// (backends/cpu/dtype.h): f16 and bf16 widen exactly; the GGUF quant blocks
// are read in place, 2-byte aligned, led by an f16 scale.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "samepage/dtype.h"

namespace samepage::cuda {

__device__ __forceinline__ float f16_bits_to_f32(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ float bf16_bits_to_f32(uint16_t h) { return __uint_as_float(uint32_t(h) << 16); }

// Byte offsets inside one quant block (ggml's layouts).
constexpr int kQBlock = 32;
constexpr int kQ8_0Bytes = 34;  // d, qs[32]
constexpr int kQ4_0Bytes = 18;  // d, qs[16]: byte j = element j (low nibble), j + 16 (high)
constexpr int kQ4_1Bytes = 20;  // d, m, qs[16]

__device__ __forceinline__ float block_scale(const uint8_t* block, int at = 0) {
  return f16_bits_to_f32(*reinterpret_cast<const uint16_t*>(block + at));
}

// Element i of a row of dtype dt (any weight type): the slow generic path.
__device__ __forceinline__ float load_element(DType dt, const uint8_t* row, int64_t i) {
  switch (dt) {
    case DType_f32: return reinterpret_cast<const float*>(row)[i];
    case DType_f16: return f16_bits_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
    case DType_bf16: return bf16_bits_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
    case DType_q8_0: {
      const uint8_t* b = row + (i / kQBlock) * kQ8_0Bytes;
      return float(int8_t(b[2 + i % kQBlock])) * block_scale(b);
    }
    case DType_q4_0: {
      const uint8_t* b = row + (i / kQBlock) * kQ4_0Bytes;
      const int j = int(i % kQBlock);
      const uint8_t byte = b[2 + (j & 15)];
      return float(int(j < 16 ? byte & 15 : byte >> 4) - 8) * block_scale(b);
    }
    case DType_q4_1: {
      const uint8_t* b = row + (i / kQBlock) * kQ4_1Bytes;
      const int j = int(i % kQBlock);
      const uint8_t byte = b[4 + (j & 15)];
      return float(j < 16 ? byte & 15 : byte >> 4) * block_scale(b) + block_scale(b, 2);
    }
    default: return 0.0f;
  }
}

// f32 → 16-bit, round to nearest even (as the CPU's f32_to_f16/f32_to_bf16;
// NaN stays NaN).
__device__ __forceinline__ uint16_t f32_to_f16_bits(float v) {
  const uint32_t bits = __float_as_uint(v), abs = bits & 0x7fffffffu;
  // NaN as the CPU keeps it: quiet, sign and top payload bits.
  if (abs > 0x7f800000u) return uint16_t(((bits >> 16) & 0x8000u) | 0x7e00u | ((abs >> 13) & 0x3ffu));
  return __half_as_ushort(__float2half_rn(v));
}
__device__ __forceinline__ uint16_t f32_to_bf16_bits(float v) {
  const uint32_t bits = __float_as_uint(v);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40u);  // quiet NaN, as the CPU
  return uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// Stores v at element i of a float tensor of dtype dt (f32, f16 or bf16).
__device__ __forceinline__ void store_float(DType dt, void* p, int64_t i, float v) {
  if (dt == DType_f32) static_cast<float*>(p)[i] = v;
  else if (dt == DType_f16) static_cast<uint16_t*>(p)[i] = f32_to_f16_bits(v);
  else static_cast<uint16_t*>(p)[i] = f32_to_bf16_bits(v);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// x rounded to an 8-bit block as the CPU does (backends/cpu/kernels_scalar.cpp,
// quantize_x): called by a whole warp, lane i holding element i of a block of
// 32; per block d = amax / 127, q = nearest-even(x / d) with 1/d taken first.
// The one definition that quantize_x.cu and the GEMV's fused quantization share.
__device__ __forceinline__ float quantize_block_lane(float v, float* scale) {
  float amax = fabsf(v);
  for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
  *scale = amax / 127.0f;
  const float inv = *scale != 0.0f ? 1.0f / *scale : 0.0f;
  return rintf(v * inv);
}

// Element i of x (its lane's, in a whole warp whose 32 lanes hold one
// 32-aligned block) rounded as above into the 8-bit blocks quantize_x
// writes: its quant at qs[i], the block's scale at d[i / 32].
__device__ __forceinline__ void store_rounded_lane(float v, int64_t i, int8_t* qs, float* d) {
  float scale;
  qs[i] = int8_t(quantize_block_lane(v, &scale));
  if (i % 32 == 0) d[i / 32] = scale;
}

}  // namespace samepage::cuda
