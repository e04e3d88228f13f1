// The RMS normalisation of one row by one block of kNormThreads threads,
// shared by rmsnorm.cu and the fused add + rmsnorm (fused_kernels.cu) so
// both sum in the same order and give the same bits. The sum of squares is
// in double, as the CPU reference accumulates it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace samepage::cuda {

// Threads per row: a decode row (2,048) is two elements each.
constexpr int kNormThreads = 1024;
// Elements a thread keeps in registers between the sum and the scaling
// (rows up to kNormThreads · kNormKept elements; longer rows re-read the rest).
constexpr int kNormKept = 4;

// This thread's elements of w among the first kNormKept · kNormThreads
// (threadIdx.x + j · kNormThreads): loaded before the wait for the previous
// kernel when w is const (launch.h), so the norm's scaling does not wait on HBM.
__device__ __forceinline__ void load_kept_weight(const float* w, int64_t n, float (&wk)[kNormKept]) {
#pragma unroll
  for (int j = 0; j < kNormKept; ++j)
    if (const int64_t i = threadIdx.x + int64_t(j) * kNormThreads; i < n) wk[j] = w[i];
}

// A norm kernel's start: its kept w loaded when const, the next kernel let
// start, then the wait for the previous one. The next kernel (a product of
// the normalised row) starts reading its own weights while this one and the
// one before it still run. Measured on the H200 (bench/RESULTS.md, Session
// 22), against letting it start once the norm's loads were in: 1B decode
// Q4_0 1,734-1,747 tok/s against 1,645-1,663, BF16 1,015-1,019 against
// 1,001-1,004. Safe as every kernel reads only const weights and the
// graph's parameters before its own wait (launch.h).
__device__ __forceinline__ void norm_enter(bool w_const, const float* w, int64_t n, float (&wk)[kNormKept]) {
  if (w_const) load_kept_weight(w, n, wk);
  pdl_launch_dependents();
  pdl_wait();
}

__device__ __forceinline__ double warp_sum_f64(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// 1 / rms of the row whose squares this thread summed into sum_sq (its
// elements threadIdx.x, + kNormThreads, ...); every thread gets the answer.
// partial: kNormThreads / 32 doubles of shared memory. One call per kernel.
__device__ __forceinline__ float block_inv_rms(double sum_sq, double* partial, int64_t n, float eps) {
  sum_sq = warp_sum_f64(sum_sq);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = sum_sq;
  __syncthreads();
  const double total = warp_sum_f64(partial[threadIdx.x % 32]);  // every warp reduces the 32 partials
  return float(1.0 / sqrt(total / double(n) + double(eps)));
}

}  // namespace samepage::cuda
