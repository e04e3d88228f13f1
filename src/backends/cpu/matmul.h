// CPU backend: matmul with row-major weights, the Llama linear layer.
//
//   y[m][n] = sum_k x[m][k] * W[n][k]
//
// W: n rows of k elements in w_dtype (f32, f16, bf16, q8_0, q4_0, q4_1;
// quant types need k % 32 == 0), x: (m, k) f32, y: (m, n) f32.
//
// Decode (m = 1) is a GEMV and memory-bound: every weight byte is read once
// and decoded in registers; threads split the n output rows. For quantized
// weights x is first quantized to 8-bit blocks (see kernels.h), so the result
// differs from the exact product with the dequantized weights by at most
// sum over blocks of (sum_i |w_i|) * amax(x_block) / 254 plus float rounding.
// Prefill (m > 1) reuses each weight row, while it is in cache, for a block of
// x rows; it runs the same dot kernels, unless OpenBLAS takes it (blas.h).
#pragma once

#include <cstdint>

#include "backends/cpu/context.h"
#include "backends/cpu/dtype.h"
#include "samepage/status.h"

namespace samepage::cpu {

// Fails on an unsupported dtype, negative sizes, k not a multiple of the
// block size, or when scratch for the quantized activations cannot be had.
// x and y must not overlap; w may be read-only (file-mapped) memory.
Status matmul(CpuContext& ctx, DType w_dtype, const void* w, const float* x, float* y, int64_t m, int64_t n,
              int64_t k);

}  // namespace samepage::cpu
