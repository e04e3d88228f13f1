// Portable scalar kernels: the reference every SIMD variant is tested
// against, and the path on CPUs without AVX2. Several independent
// accumulators keep the dependency chains short without changing the math.
#include <cmath>

#include "backends/cpu/kernels.h"

namespace samepage::cpu {

namespace {

float dot_f32(const void* w_row, const XRow& x, int64_t k) {
  const float* w = static_cast<const float*>(w_row);
  float acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= k; i += 4) {
    for (int j = 0; j < 4; ++j) acc[j] += w[i + j] * x.f32[i + j];
  }
  for (; i < k; ++i) acc[0] += w[i] * x.f32[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

template <float (*convert)(uint16_t)>
float dot_16bit(const void* w_row, const XRow& x, int64_t k) {
  const uint16_t* w = static_cast<const uint16_t*>(w_row);
  float acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= k; i += 4) {
    for (int j = 0; j < 4; ++j) acc[j] += convert(w[i + j]) * x.f32[i + j];
  }
  for (; i < k; ++i) acc[0] += convert(w[i]) * x.f32[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

float dot_q8_0(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const BlockQ8_0*>(w_row);
  float acc = 0.0f;
  for (int64_t b = 0; b < k / kQuantBlock; ++b) {
    const int8_t* xq = x.qs + b * kQuantBlock;
    int32_t isum = 0;
    for (int i = 0; i < kQuantBlock; ++i) isum += int32_t(blocks[b].qs[i]) * xq[i];
    acc += float(isum) * (f16_to_f32(blocks[b].d) * x.d[b]);
  }
  return acc;
}

// Sum over the block of nibble * x quant (nibbles 0..15, ggml order).
int32_t nibble_dot(const uint8_t* qs, const int8_t* xq) {
  int32_t isum = 0;
  for (int j = 0; j < kQuantBlock / 2; ++j) {
    isum += int32_t(qs[j] & 0xf) * xq[j] + int32_t(qs[j] >> 4) * xq[j + 16];
  }
  return isum;
}

float dot_q4_0(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const BlockQ4_0*>(w_row);
  float acc = 0.0f;
  for (int64_t b = 0; b < k / kQuantBlock; ++b) {
    // sum (n - 8) q = sum n q - 8 sum q, exact in integers.
    const int32_t isum = nibble_dot(blocks[b].qs, x.qs + b * kQuantBlock) - 8 * x.sum[b];
    acc += float(isum) * (f16_to_f32(blocks[b].d) * x.d[b]);
  }
  return acc;
}

float dot_q4_1(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const BlockQ4_1*>(w_row);
  float acc = 0.0f, acc_min = 0.0f;
  for (int64_t b = 0; b < k / kQuantBlock; ++b) {
    const int32_t isum = nibble_dot(blocks[b].qs, x.qs + b * kQuantBlock);
    acc += float(isum) * (f16_to_f32(blocks[b].d) * x.d[b]);
    // sum (n d + m) x = d sum n x + m sum x.
    acc_min += f16_to_f32(blocks[b].m) * (float(x.sum[b]) * x.d[b]);
  }
  return acc + acc_min;
}

void quantize_x(const float* x, int8_t* qs, float* d, int32_t* sum, int64_t n_blocks) {
  for (int64_t b = 0; b < n_blocks; ++b, x += kQuantBlock, qs += kQuantBlock) {
    float amax = 0.0f;
    for (int i = 0; i < kQuantBlock; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    d[b] = amax / 127.0f;
    const float id = d[b] != 0.0f ? 1.0f / d[b] : 0.0f;
    int32_t s = 0;
    for (int i = 0; i < kQuantBlock; ++i) {
      // Nearest-even, as the SIMD conversions do, so every ISA sees the same quants.
      qs[i] = int8_t(std::nearbyint(x[i] * id));
      s += qs[i];
    }
    sum[b] = s;
  }
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * f16_to_f32(x[i]);
}

void axpy_bf16(float a, const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * bf16_to_f32(x[i]);
}

float exp_sum(const float* x, float* y, float max, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - max);
    sum += y[i];
  }
  return sum;
}

}  // namespace

const CpuKernels& kernels_scalar() {
  static constexpr CpuKernels kTable = {
      .dot = {dot_f32, dot_16bit<f16_to_f32>, dot_16bit<bf16_to_f32>, dot_q8_0, dot_q4_0, dot_q4_1,
              nullptr},
      .quantize_x = quantize_x,
      .dot_rows = {dot_rows_by_row<dot_f32>, dot_rows_by_row<dot_16bit<f16_to_f32>>,
                   dot_rows_by_row<dot_16bit<bf16_to_f32>>},
      .sum_rows = {sum_rows_by_row<float, axpy_f32>, sum_rows_by_row<uint16_t, axpy_f16>,
                   sum_rows_by_row<uint16_t, axpy_bf16>},
      .exp_sum = exp_sum,
  };
  return kTable;
}

}  // namespace samepage::cpu
