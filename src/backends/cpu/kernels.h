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

struct CpuKernels {
  DotFn dot[DType_count];  // null for i32
  // qs/d/sum for n_blocks blocks of 32 elements of x.
  void (*quantize_x)(const float* x, int8_t* qs, float* d, int32_t* sum, int64_t n_blocks);
  // y[i] += a * x[i], x of the given storage type (attention's V rows).
  void (*axpy_f32)(float a, const float* x, float* y, int64_t n);
  void (*axpy_f16)(float a, const uint16_t* x, float* y, int64_t n);
  void (*axpy_bf16)(float a, const uint16_t* x, float* y, int64_t n);
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
