// CPU backend (internal): the per-ISA inner loops behind matmul, attention
// and softmax. Each ISA file (kernels_scalar.cpp, kernels_avx2.cpp,
// kernels_avx512.cpp) fills one table; ops pick the table of the context's
// ISA, so a forced ISA in a test exercises exactly that code.
//
// Quantized weights are multiplied by an activation row quantized once per
// call to 8 bits per 32-element block (symmetric, d = amax/127, round to
// nearest even), kept as separate arrays so SIMD loads of x are contiguous.
// The block dot products are then exact integer sums; only the activation
// rounding (|x - q·d| <= d/2) and float accumulation add error.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/context.h"
#include "backends/cpu/dtype.h"

namespace samepage::cpu {

// One activation row as every dot kernel may want it.
struct XRow {
  const float* f32;    // (k) the row itself
  const int8_t* qs;    // (k) 8-bit quants, valid when k % 32 == 0 and quantized
  const float* d;      // (k/32) block scales
  const int32_t* sum;  // (k/32) sum of the block's quants, for q4 offsets/minimums
};

// sum_i w[i] * x[i] over k elements of a weight row of the table's dtype.
using DotFn = float (*)(const void* w_row, const XRow& x, int64_t k);

using DotRowsFn = void (*)(const void* rows, size_t stride_bytes, int64_t n_rows, const float* x, int64_t d,
                           float* out);
using SumRowsFn = void (*)(const void* rows, size_t stride_bytes, int64_t n_rows, const float* weights, int64_t d,
                           float* out);

// Fallbacks built from a row kernel: one call per row.
template <DotFn kDot>
void dot_rows_by_row(const void* rows, size_t stride_bytes, int64_t n_rows, const float* x, int64_t d, float* out) {
  const XRow x_row{x, nullptr, nullptr, nullptr};
  for (int64_t r = 0; r < n_rows; ++r) out[r] = kDot(static_cast<const uint8_t*>(rows) + size_t(r) * stride_bytes, x_row, d);
}
template <typename T, void (*kAxpy)(float, const T*, float*, int64_t)>
void sum_rows_by_row(const void* rows, size_t stride_bytes, int64_t n_rows, const float* weights, int64_t d,
                     float* out) {
  for (int64_t i = 0; i < d; ++i) out[i] = 0.0f;
  for (int64_t r = 0; r < n_rows; ++r) {
    kAxpy(weights[r], reinterpret_cast<const T*>(static_cast<const uint8_t*>(rows) + size_t(r) * stride_bytes), out, d);
  }
}

struct CpuKernels {
  DotFn dot[DType_count];  // null for i32
  // qs/d/sum for n_blocks blocks of 32 elements of x.
  void (*quantize_x)(const float* x, int8_t* qs, float* d, int32_t* sum, int64_t n_blocks);
  // Attention over cached rows: n_rows rows of d elements of a float type
  // (index DType_f32, DType_f16, DType_bf16), row r at rows + r·stride_bytes.
  DotRowsFn dot_rows[3];  // scores: out[r] = sum_i row_r[i] · x[i]
  SumRowsFn sum_rows[3];  // weighted values: out[i] = sum_r weights[r] · row_r[i]
  // y[i] = exp(x[i] - max); returns sum_i y[i]. y may equal x.
  float (*exp_sum)(const float* x, float* y, float max, int64_t n);
};

const CpuKernels& kernels_scalar();
const CpuKernels& kernels_avx2();    // only call when cpu_isa_supported(CpuIsa_avx2)
const CpuKernels& kernels_avx512();  // only call when cpu_isa_supported(CpuIsa_avx512)

inline const CpuKernels& cpu_kernels(CpuIsa isa) {
  switch (isa) {
#if defined(__x86_64__)
    case CpuIsa_avx512: return kernels_avx512();
    case CpuIsa_avx2: return kernels_avx2();
#endif
    default: return kernels_scalar();
  }
}

}  // namespace samepage::cpu
