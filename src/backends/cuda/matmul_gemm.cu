// The simple prefill path (m > kGemvMaxRows): 64×64 output tiles, k in steps
// of 32 through shared memory, each thread 4×4 outputs; weights are decoded
// element by element as they are staged, so every dtype takes the same path.
// Correct first: cuBLAS (dequantized or 16-bit tiles) is the fast path to come.
#include <cuda_runtime.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

constexpr int kTile = 64, kStep = 32;

__global__ void __launch_bounds__(256)
    gemm_kernel(DType dt, const uint8_t* __restrict__ w, size_t row_bytes, const float* __restrict__ x,
                float* __restrict__ y, int64_t m, int64_t n, int64_t k) {
  cudaGridDependencySynchronize();  // launched with PDL: the previous kernel's stores first (launch.h)
  __shared__ float xs[kTile][kStep + 1];
  __shared__ float ws[kTile][kStep + 1];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t m0 = int64_t(blockIdx.y) * kTile, n0 = int64_t(blockIdx.x) * kTile;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < k; k0 += kStep) {
    for (int e = threadIdx.x; e < kTile * kStep; e += 256) {
      const int r = e / kStep, c = e % kStep;
      const int64_t kk = k0 + c;
      xs[r][c] = (m0 + r < m && kk < k) ? x[(m0 + r) * k + kk] : 0.0f;
      ws[r][c] = (n0 + r < n && kk < k) ? load_element(dt, w + size_t(n0 + r) * row_bytes, kk) : 0.0f;
    }
    __syncthreads();
#pragma unroll 8
    for (int c = 0; c < kStep; ++c) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = xs[ty * 4 + i][c], b[i] = ws[tx * 4 + i][c];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t r = m0 + ty * 4 + i, c = n0 + tx * 4 + j;
      if (r < m && c < n) y[r * n + c] = acc[i][j];
    }
}

}  // namespace

Status launch_gemm(cudaStream_t s, DType dt, const void* w, const float* x, float* y, int64_t m, int64_t n,
                   int64_t k) {
  if (!dtype_is_weight(dt)) return err("cuda::matmul", std::string("unsupported weight dtype ") + dtype_name(dt));
  const int64_t gx = (n + kTile - 1) / kTile, gy = (m + kTile - 1) / kTile;
  if (gx > INT32_MAX || gy > 65535) return err("cuda::matmul", "matrix too large for the simple gemm path");
  gemm_kernel<<<dim3(unsigned(gx), unsigned(gy)), 256, 0, s>>>(dt, static_cast<const uint8_t*>(w),
                                                               dtype_row_bytes(dt, k), x, y, m, n, k);
  return cuda_status(cudaGetLastError(), "cuda::matmul", "gemm launch");
}

}  // namespace samepage::cuda
