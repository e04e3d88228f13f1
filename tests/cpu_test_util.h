// Helpers for the CPU kernel tests: seeded random data, an independent
// float64 decoder for every weight dtype (written from the ggml layouts, not
// from dtype.cpp), and the list of ISA variants this machine can run.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/context.h"
#include "backends/cpu/dtype.h"

namespace samepage::cpu::test {

// f32 unit roundoff.
inline constexpr double kU = 0x1p-24;

// Uniform in [lo, hi); continuous, so never all zeros.
inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<CpuIsa> supported_isas() {
  std::vector<CpuIsa> isas;
  for (int i = 0; i < CpuIsa_count; ++i) {
    if (cpu_isa_supported(CpuIsa(i))) isas.push_back(CpuIsa(i));
  }
  return isas;
}

inline double half_to_double(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  // Decoded here from the IEEE fields so the test does not trust f16_to_f32.
  const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double v = exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1024 + mantissa, exponent - 25);
  return sign ? -v : v;
}

// Row of n elements of dtype (stored bytes) → float64 values.
inline std::vector<double> decode_row(DType dtype, const uint8_t* p, int64_t n) {
  std::vector<double> out(size_t(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
      case DType_f32: {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        out[size_t(i)] = f;
        break;
      }
      case DType_f16:
        out[size_t(i)] = half_to_double(p + 2 * i);
        break;
      case DType_bf16: {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        uint32_t bits = uint32_t(h) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        out[size_t(i)] = f;
        break;
      }
      case DType_q8_0: {
        const uint8_t* block = p + (i / 32) * 34;
        out[size_t(i)] = half_to_double(block) * double(int8_t(block[2 + i % 32]));
        break;
      }
      case DType_q4_0:
      case DType_q4_1: {
        const bool has_min = dtype == DType_q4_1;
        const uint8_t* block = p + (i / 32) * (has_min ? 20 : 18);
        const uint8_t* qs = block + (has_min ? 4 : 2);
        const int j = int(i % 32);
        // Low nibbles hold elements 0..15, high nibbles 16..31.
        const int nibble = j < 16 ? (qs[j] & 0xf) : (qs[j - 16] >> 4);
        out[size_t(i)] = has_min ? half_to_double(block) * nibble + half_to_double(block + 2)
                                 : half_to_double(block) * (nibble - 8);
        break;
      }
      default:
        ADD_FAILURE() << "decode_row: unexpected dtype";
    }
  }
  return out;
}

// n_rows rows of k random values stored in dtype; `values` gets the decoded
// (post-quantization) weights, which are what references multiply by (null:
// not wanted, as when two backends are compared with each other).
inline std::vector<uint8_t> random_weights(DType dtype, int64_t n_rows, int64_t k, uint32_t seed,
                                           std::vector<double>* values) {
  const size_t bytes_per_row = row_bytes(dtype, k);
  std::vector<uint8_t> bytes(bytes_per_row * size_t(n_rows));
  const std::vector<float> src = random_floats(size_t(n_rows * k), seed);
  if (values != nullptr) values->resize(size_t(n_rows * k));
  for (int64_t r = 0; r < n_rows; ++r) {
    EXPECT_TRUE(quantize_row(dtype, src.data() + r * k, bytes.data() + size_t(r) * bytes_per_row, k).is_ok());
    if (values == nullptr) continue;
    const std::vector<double> row = decode_row(dtype, bytes.data() + size_t(r) * bytes_per_row, k);
    std::copy(row.begin(), row.end(), values->begin() + r * k);
  }
  return bytes;
}

}  // namespace samepage::cpu::test
