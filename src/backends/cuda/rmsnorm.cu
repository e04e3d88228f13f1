// rmsnorm: one block per row; the sum of squares is reduced in double, as the
// CPU reference accumulates it.
#include <cuda_runtime.h>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"

namespace samepage::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rmsnorm_kernel(const float* x, const float* w, float* y, int64_t n, float eps) {
  pdl_enter();
  __shared__ double partial[kThreads];
  const float* xr = x + int64_t(blockIdx.x) * n;
  float* yr = y + int64_t(blockIdx.x) * n;
  double sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) sum += double(xr[i]) * double(xr[i]);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int o = kThreads / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) partial[threadIdx.x] += partial[threadIdx.x + o];
    __syncthreads();
  }
  const float inv_rms = float(1.0 / sqrt(partial[0] / double(n) + double(eps)));
  // y may be x: every read of this row happened before the barrier above.
  for (int64_t i = threadIdx.x; i < n; i += kThreads) yr[i] = xr[i] * inv_rms * w[i];
}

}  // namespace

void launch_rmsnorm(const LaunchStream& s, const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) {
  if (n_rows <= 0 || n <= 0) return;
  launch_kernel(s, unsigned(n_rows), kThreads, 0, rmsnorm_kernel, x, w, y, n, eps);
}

}  // namespace samepage::cuda
