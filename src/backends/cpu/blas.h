// CPU backend: OpenBLAS for large float matrix products (prefill), found at
// run time. Where it is installed it beats the hand-written dot kernels by a
// wide margin once a weight row is reused by many activation rows; where it
// is not (the device machine), the kernels do the work and nothing fails.
#pragma once

#include <cstdint>

#include "backends/cpu/context.h"
#include "backends/cpu/dtype.h"

namespace samepage::cpu {

// "OpenBLAS <version>" when the library was found, else "none".
const char* blas_description();

// y (m, n) = x (m, k) · W (n, k)ᵀ through OpenBLAS sgemm, for f32 and bf16
// weights (bf16 widened to f32 a block of rows at a time).
// Returns false, having done nothing, when there is no BLAS, the dtype is not
// a float type, or m is below the size where sgemm pays off.
bool matmul_blas(CpuContext& ctx, DType w_dtype, const void* w, const float* x, float* y, int64_t m, int64_t n,
                 int64_t k);

}  // namespace samepage::cpu
