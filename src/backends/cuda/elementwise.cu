// Elementwise ops, grid-stride; accurate expf (the CPU uses std::exp).
#include <cuda_runtime.h>

#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + 255) / 256;
  return unsigned(blocks < 65536 ? blocks : 65536);
}

__global__ void silu_mul_kernel(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = a[i] / (1.0f + expf(-a[i])) * b[i];  // e^-a = inf gives -0, not NaN
}
// b_n: b's element count; less than n when b is one row broadcast over a's rows.
__global__ void add_kernel(const float* a, const float* b, float* y, int64_t n, int64_t b_n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = a[i] + b[b_n == n ? i : i % b_n];
}
__global__ void scale_kernel(const float* x, float f, float* y, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[i] * f;
}

}  // namespace

void launch_silu_mul(cudaStream_t s, const float* a, const float* b, float* y, int64_t n) {
  if (n > 0) silu_mul_kernel<<<grid_for(n), 256, 0, s>>>(a, b, y, n);
}
void launch_add(cudaStream_t s, const float* a, const float* b, float* y, int64_t n, int64_t b_n) {
  if (n > 0 && b_n > 0) add_kernel<<<grid_for(n), 256, 0, s>>>(a, b, y, n, b_n);
}
void launch_scale(cudaStream_t s, const float* x, float f, float* y, int64_t n) {
  if (n > 0) scale_kernel<<<grid_for(n), 256, 0, s>>>(x, f, y, n);
}

}  // namespace samepage::cuda
