// rmsnorm: one block per row (row_norm.h: the reduction, in double as the
// CPU reference accumulates it).
#include <cuda_runtime.h>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"
#include "backends/cuda/row_norm.h"

namespace samepage::cuda {
namespace {

// w_const: w is loaded before the wait for the previous grid (row_norm.h norm_enter).
__global__ void rmsnorm_kernel(const float* x, const float* w, float* y, int64_t n, float eps, bool w_const) {
  __shared__ double partial[kNormThreads / 32];
  const float* xr = x + int64_t(blockIdx.x) * n;
  float* yr = y + int64_t(blockIdx.x) * n;
  float wk[kNormKept], xk[kNormKept];
  norm_enter(w_const, w, n, wk);
  double sum = 0;
#pragma unroll
  for (int j = 0; j < kNormKept; ++j)
    if (const int64_t i = threadIdx.x + int64_t(j) * kNormThreads; i < n) {
      xk[j] = xr[i];
      sum += double(xk[j]) * double(xk[j]);
    }
  for (int64_t i = threadIdx.x + int64_t(kNormKept) * kNormThreads; i < n; i += kNormThreads)
    sum += double(xr[i]) * double(xr[i]);
  const float inv_rms = block_inv_rms(sum, partial, n, eps);
  // y may be x: every read of this row happened before the barrier in block_inv_rms.
#pragma unroll
  for (int j = 0; j < kNormKept; ++j)
    if (const int64_t i = threadIdx.x + int64_t(j) * kNormThreads; i < n) yr[i] = xk[j] * inv_rms * (w_const ? wk[j] : w[i]);
  for (int64_t i = threadIdx.x + int64_t(kNormKept) * kNormThreads; i < n; i += kNormThreads) yr[i] = xr[i] * inv_rms * w[i];
}

}  // namespace

void launch_rmsnorm(const LaunchStream& s, const float* x, const float* w, bool w_const, float* y, int64_t n_rows,
                    int64_t n, float eps) {
  if (n_rows <= 0 || n <= 0) return;
  launch_kernel(s, unsigned(n_rows), kNormThreads, 0, rmsnorm_kernel, x, w, y, n, eps, w_const);
}

}  // namespace samepage::cuda
