// Elementwise ops, grid-stride; accurate expf (the CPU uses std::exp).
#include <cuda_runtime.h>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"

namespace samepage::cuda {
namespace {

__global__ void silu_mul_kernel(const float* a, const float* b, float* y, int64_t n) {
  pdl_enter();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = a[i] / (1.0f + expf(-a[i])) * b[i];  // e^-a = inf gives -0, not NaN
}
// b_n: b's element count; less than n when b is one row broadcast over a's rows.
__global__ void add_kernel(const float* a, const float* b, float* y, int64_t n, int64_t b_n) {
  pdl_enter();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = a[i] + b[b_n == n ? i : i % b_n];
}
__global__ void scale_kernel(const float* x, float f, float* y, int64_t n) {
  pdl_enter();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[i] * f;
}

}  // namespace

void launch_silu_mul(const LaunchStream& s, const float* a, const float* b, float* y, int64_t n) {
  if (n > 0) launch_kernel(s, grid_stride_blocks(n), 256, 0, silu_mul_kernel, a, b, y, n);
}
void launch_add(const LaunchStream& s, const float* a, const float* b, float* y, int64_t n, int64_t b_n) {
  if (n > 0 && b_n > 0) launch_kernel(s, grid_stride_blocks(n), 256, 0, add_kernel, a, b, y, n, b_n);
}
void launch_scale(const LaunchStream& s, const float* x, float f, float* y, int64_t n) {
  if (n > 0) launch_kernel(s, grid_stride_blocks(n), 256, 0, scale_kernel, x, f, y, n);
}

}  // namespace samepage::cuda
