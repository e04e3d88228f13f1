// Element types: sizes, f16/bf16 conversion, reference (de)quantizers.
// Portable scalar code; the matmul kernels have their own SIMD decoders.
#include "backends/cpu/dtype.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace samepage::cpu {

namespace {

uint32_t bits_of(float value) { return std::bit_cast<uint32_t>(value); }
float float_of(uint32_t bits) { return std::bit_cast<float>(bits); }

Status check_row(const char* where, DType dtype, int64_t n) {
  if (!dtype_is_weight(dtype)) {
    return err(where, std::string("unsupported dtype ") + dtype_name(dtype));
  }
  if (n < 0 || n % dtype_block_size(dtype) != 0) {
    return err(where, "row of " + std::to_string(n) + " elements is not a multiple of the " +
                          dtype_name(dtype) + " block size");
  }
  return Status::ok();
}

void quantize_block_q8_0(const float* x, BlockQ8_0* block) {
  float amax = 0.0f;
  for (int i = 0; i < kQuantBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  block->d = f32_to_f16(d);
  // roundf (ties away from zero) as ggml's reference quantizer does.
  for (int i = 0; i < kQuantBlock; ++i) block->qs[i] = int8_t(std::roundf(x[i] * id));
}

void quantize_block_q4_0(const float* x, BlockQ4_0* block) {
  // The signed value of largest magnitude maps to -8, so the full range [-8, 7]
  // is used on the side where the extreme lies (ggml's convention).
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < kQuantBlock; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  block->d = f32_to_f16(d);
  for (int j = 0; j < kQuantBlock / 2; ++j) {
    // x * id + 8.5 lies in [0.5, 16.5]; truncation rounds half up, 16 clamps to 15.
    const int lo = std::min(15, int(int8_t(x[j] * id + 8.5f)));
    const int hi = std::min(15, int(int8_t(x[j + 16] * id + 8.5f)));
    block->qs[j] = uint8_t(lo | (hi << 4));
  }
}

void quantize_block_q4_1(const float* x, BlockQ4_1* block) {
  float min = x[0], max = x[0];
  for (int i = 1; i < kQuantBlock; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
  const float d = (max - min) / 15.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  block->d = f32_to_f16(d);
  block->m = f32_to_f16(min);
  for (int j = 0; j < kQuantBlock / 2; ++j) {
    const int lo = std::min(15, int(int8_t((x[j] - min) * id + 0.5f)));
    const int hi = std::min(15, int(int8_t((x[j + 16] - min) * id + 0.5f)));
    block->qs[j] = uint8_t(lo | (hi << 4));
  }
}

}  // namespace


uint16_t f32_to_f16(float value) {
  const uint32_t bits = bits_of(value);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) {  // NaN: force the quiet bit so a payload cut to 10 bits stays NaN
    return uint16_t(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  }
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // >= 65520 rounds to inf (or is inf)
  if (abs < 0x38800000u) {
    // Below the smallest normal (2^-14): adding 0.5 puts the f16 subnormal unit
    // (2^-24) at the f32 mantissa's last bit, so the FPU rounds to nearest even
    // for us; the mantissa bits are then the f16 encoding (0x400 = min normal).
    const float shifted = float_of(abs) + 0.5f;
    return uint16_t(sign | (bits_of(shifted) - bits_of(0.5f)));
  }
  // Normal: rebias the exponent, then round the 13 dropped bits to nearest even.
  const uint32_t odd = (abs >> 13) & 1u;
  abs += (uint32_t(15 - 127) << 23) + 0xfffu + odd;
  return uint16_t(sign | (abs >> 13));
}

float f16_to_f32(uint16_t half) {
  const uint32_t sign = uint32_t(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) return float_of(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24 is exact in f32.
    return float_of(sign | bits_of(float(mantissa) * 0x1p-24f));
  }
  return float_of(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

uint16_t f32_to_bf16(float value) {
  const uint32_t bits = bits_of(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40u);  // quiet NaN
  // Round to nearest even on the 16 dropped bits; overflow carries into inf.
  return uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

Status dequantize_row(DType dtype, const void* src, float* dst, int64_t n) {
  if (Status s = check_row("cpu::dequantize_row", dtype, n); !s) return s;
  switch (dtype) {
    case DType_f32:
      std::memcpy(dst, src, size_t(n) * sizeof(float));
      break;
    case DType_f16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      break;
    }
    case DType_bf16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      break;
    }
    case DType_q8_0: {
      const auto* blocks = static_cast<const BlockQ8_0*>(src);
      for (int64_t b = 0; b < n / kQuantBlock; ++b, dst += kQuantBlock) {
        const float d = f16_to_f32(blocks[b].d);
        for (int i = 0; i < kQuantBlock; ++i) dst[i] = float(blocks[b].qs[i]) * d;
      }
      break;
    }
    case DType_q4_0: {
      const auto* blocks = static_cast<const BlockQ4_0*>(src);
      for (int64_t b = 0; b < n / kQuantBlock; ++b, dst += kQuantBlock) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < kQuantBlock / 2; ++j) {
          dst[j] = float(int(blocks[b].qs[j] & 0xf) - 8) * d;
          dst[j + 16] = float(int(blocks[b].qs[j] >> 4) - 8) * d;
        }
      }
      break;
    }
    case DType_q4_1: {
      const auto* blocks = static_cast<const BlockQ4_1*>(src);
      for (int64_t b = 0; b < n / kQuantBlock; ++b, dst += kQuantBlock) {
        const float d = f16_to_f32(blocks[b].d);
        const float m = f16_to_f32(blocks[b].m);
        for (int j = 0; j < kQuantBlock / 2; ++j) {
          dst[j] = float(blocks[b].qs[j] & 0xf) * d + m;
          dst[j + 16] = float(blocks[b].qs[j] >> 4) * d + m;
        }
      }
      break;
    }
    default:
      break;  // refused by check_row
  }
  return Status::ok();
}

Status quantize_row(DType dtype, const float* src, void* dst, int64_t n) {
  if (Status s = check_row("cpu::quantize_row", dtype, n); !s) return s;
  switch (dtype) {
    case DType_f32:
      std::memcpy(dst, src, size_t(n) * sizeof(float));
      break;
    case DType_f16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
      break;
    }
    case DType_bf16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
      break;
    }
    case DType_q8_0: {
      auto* blocks = static_cast<BlockQ8_0*>(dst);
      for (int64_t b = 0; b < n / kQuantBlock; ++b) quantize_block_q8_0(src + b * kQuantBlock, &blocks[b]);
      break;
    }
    case DType_q4_0: {
      auto* blocks = static_cast<BlockQ4_0*>(dst);
      for (int64_t b = 0; b < n / kQuantBlock; ++b) quantize_block_q4_0(src + b * kQuantBlock, &blocks[b]);
      break;
    }
    case DType_q4_1: {
      auto* blocks = static_cast<BlockQ4_1*>(dst);
      for (int64_t b = 0; b < n / kQuantBlock; ++b) quantize_block_q4_1(src + b * kQuantBlock, &blocks[b]);
      break;
    }
    default:
      break;
  }
  return Status::ok();
}

}  // namespace samepage::cpu
