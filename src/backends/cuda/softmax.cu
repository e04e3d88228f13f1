// Row reductions: softmax and argmax, one block per row, NaN rules as the
// CPU's (softmax.h): a NaN anywhere in a softmax row makes the row NaN;
// argmax takes the first maximum, skips NaN, gives 0 for an all-NaN row.
#include <cuda_runtime.h>

#include <cmath>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"

namespace samepage::cuda {
namespace {

constexpr int kThreads = 256;

// max that keeps NaN (fmaxf would drop it).
__device__ __forceinline__ float nan_max(float a, float b) { return (isnan(a) || isnan(b)) ? NAN : fmaxf(a, b); }

__global__ void softmax_kernel(const float* x, float* y, int64_t n) {
  pdl_enter();
  __shared__ float red[kThreads];
  const float* xr = x + int64_t(blockIdx.x) * n;
  float* yr = y + int64_t(blockIdx.x) * n;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) m = nan_max(m, xr[i]);
  red[threadIdx.x] = m;
  __syncthreads();
  for (int o = kThreads / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] = nan_max(red[threadIdx.x], red[threadIdx.x + o]);
    __syncthreads();
  }
  const float max = red[0];
  __syncthreads();
  float sum = 0.0f;
  // y may be x: each element is read, then written, by the same thread.
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const float e = expf(xr[i] - max);  // all -inf: -inf - -inf = NaN, as the CPU
    yr[i] = e;
    sum += e;
  }
  red[threadIdx.x] = sum;
  __syncthreads();
  for (int o = kThreads / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
    __syncthreads();
  }
  const float inv_sum = 1.0f / red[0];
  for (int64_t i = threadIdx.x; i < n; i += kThreads) yr[i] *= inv_sum;
}

// (value, index) with NaN as "nothing yet": the better of two candidates.
__device__ __forceinline__ bool better(float v, int64_t i, float bv, int64_t bi) {
  if (isnan(v)) return false;
  if (isnan(bv)) return true;
  return v > bv || (v == bv && i < bi);
}

__global__ void argmax_kernel(const float* x, int32_t* out, int64_t n) {
  pdl_enter();
  __shared__ float vals[kThreads];
  __shared__ int64_t idx[kThreads];
  const float* xr = x + int64_t(blockIdx.x) * n;
  float bv = NAN;
  int64_t bi = INT64_MAX;
  for (int64_t i = threadIdx.x; i < n; i += kThreads)
    if (better(xr[i], i, bv, bi)) bv = xr[i], bi = i;
  vals[threadIdx.x] = bv, idx[threadIdx.x] = bi;
  __syncthreads();
  for (int o = kThreads / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o && better(vals[threadIdx.x + o], idx[threadIdx.x + o], vals[threadIdx.x], idx[threadIdx.x]))
      vals[threadIdx.x] = vals[threadIdx.x + o], idx[threadIdx.x] = idx[threadIdx.x + o];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = isnan(vals[0]) ? 0 : int32_t(idx[0]);
}

}  // namespace

void launch_softmax(const LaunchStream& s, const float* x, float* y, int64_t n_rows, int64_t n) {
  if (n_rows > 0 && n > 0) launch_kernel(s, unsigned(n_rows), kThreads, 0, softmax_kernel, x, y, n);
}

void launch_argmax(const LaunchStream& s, const float* x, int32_t* out, int64_t n_rows, int64_t n) {
  if (n_rows > 0 && n > 0) launch_kernel(s, unsigned(n_rows), kThreads, 0, argmax_kernel, x, out, n);
}

}  // namespace samepage::cuda
