// rmsnorm: one block per row; the sum of squares is reduced in double, as the
// CPU reference accumulates it.
#include <cuda_runtime.h>

#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

// Threads per row: enough that a decode row (2048) is two elements each.
constexpr int kThreads = 1024;

__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ void rmsnorm_kernel(const float* x, const float* w, float* y, int64_t n, float eps) {
  __shared__ double partial[kThreads / 32];
  const float* xr = x + int64_t(blockIdx.x) * n;
  float* yr = y + int64_t(blockIdx.x) * n;
  double sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) sum += double(xr[i]) * double(xr[i]);
  sum = warp_sum(sum);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = sum;
  __syncthreads();
  const double total = warp_sum(partial[threadIdx.x % 32]);  // every warp reduces the 32 partials
  const float inv_rms = float(1.0 / sqrt(total / double(n) + double(eps)));
  // y may be x: every read of this row happened before the barrier above.
  for (int64_t i = threadIdx.x; i < n; i += kThreads) yr[i] = xr[i] * inv_rms * w[i];
}

}  // namespace

void launch_rmsnorm(cudaStream_t s, const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) {
  if (n_rows <= 0 || n <= 0) return;
  rmsnorm_kernel<<<unsigned(n_rows), kThreads, 0, s>>>(x, w, y, n, eps);
}

}  // namespace samepage::cuda
