// The fused kernels of fused_kernels.h.
#include "backends/cuda/fused_kernels.h"

#include <cuda_runtime.h>

#include "backends/cuda/device_dtype.h"
#include "backends/cuda/launch.h"
#include "backends/cuda/rope_pair.h"
#include "backends/cuda/row_norm.h"

namespace samepage::cuda {
namespace {

// One block per row. Each thread adds, stores and squares its own elements
// (the indices rmsnorm_kernel's thread would sum, in the same order), so the
// sum and the output are rmsnorm's bits over the stored a. A const w (no
// kernel writes it) is loaded before the wait for the previous grid, and the
// next kernel is let start then too (row_norm.h norm_enter).
// With rq: each warp also rounds its 32 consecutive outputs (one block of
// quantize_x) into rq, rd.
__global__ void add_rmsnorm_kernel(const float* x, const float* b, float* a, const float* w, float* y, int64_t n,
                                   float eps, bool w_const, int8_t* rq, float* rd) {
  __shared__ double partial[kNormThreads / 32];
  const int64_t row = int64_t(blockIdx.x) * n;
  float wk[kNormKept], vk[kNormKept];
  norm_enter(w_const, w, n, wk);
  double sum = 0;
#pragma unroll
  for (int j = 0; j < kNormKept; ++j)
    if (const int64_t i = threadIdx.x + int64_t(j) * kNormThreads; i < n) {
      vk[j] = x[row + i] + b[row + i];
      a[row + i] = vk[j];
      sum += double(vk[j]) * double(vk[j]);
    }
  for (int64_t i = threadIdx.x + int64_t(kNormKept) * kNormThreads; i < n; i += kNormThreads) {
    const float v = x[row + i] + b[row + i];
    a[row + i] = v;
    sum += double(v) * double(v);
  }
  const float inv_rms = block_inv_rms(sum, partial, n, eps);
  auto store = [&](int64_t i, float v) {  // i < n: the whole warp's block of 32 (n % 32 == 0 with rq)
    y[row + i] = v;
    if (rq != nullptr) store_rounded_lane(v, row + i, rq, rd);
  };
#pragma unroll
  for (int j = 0; j < kNormKept; ++j)
    if (const int64_t i = threadIdx.x + int64_t(j) * kNormThreads; i < n) store(i, vk[j] * inv_rms * (w_const ? wk[j] : w[i]));
  // Each thread reads back only what it wrote itself.
  for (int64_t i = threadIdx.x + int64_t(kNormKept) * kNormThreads; i < n; i += kNormThreads)
    store(i, a[row + i] * inv_rms * w[i]);
}

// Threads over q's pairs, then k's pairs (stored to the k cache as well),
// then v's elements (stored to the v cache).
__global__ void rope_store_kernel(RopeStoreArgs g) {
  pdl_enter();
  const int64_t pos0 = g.pos0_at != nullptr ? int64_t(*g.pos0_at) : g.pos0;
  const int64_t half = g.head_dim / 2;
  const int64_t n_q = g.n_tokens * g.q_heads * half, n_k = g.n_tokens * g.k_heads * half, n_v = g.n_tokens * g.v_row;
  const RopeShape rq{g.q_heads, g.head_dim, double(g.freq_base), double(g.freq_scale), g.mode, g.factors};
  const RopeShape rk{g.k_heads, g.head_dim, double(g.freq_base), double(g.freq_scale), g.mode, g.factors};
  const int64_t k_base = pos0 * g.k_row, v_base = pos0 * g.v_row;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n_q + n_k + n_v;
       e += int64_t(gridDim.x) * blockDim.x) {
    int64_t at, partner;
    float ya, yb;
    if (e < n_q) {
      rope_pair(g.q_in, g.q_out, e, pos0, rq, &at, &partner, &ya, &yb);
    } else if (e < n_q + n_k) {
      rope_pair(g.k_in, g.k_out, e - n_q, pos0, rk, &at, &partner, &ya, &yb);
      store_float(g.k_cache_dtype, g.k_cache, k_base + at, ya);
      store_float(g.k_cache_dtype, g.k_cache, k_base + at + partner, yb);
    } else {
      const int64_t i = e - n_q - n_k;
      store_float(g.v_cache_dtype, g.v_cache, v_base + i, g.v[i]);
    }
  }
}

}  // namespace

void launch_add_rmsnorm(const LaunchStream& s, const float* x, const float* b, float* a, const float* w, bool w_const,
                        float* y, int64_t n_rows, int64_t n, float eps, QuantizedX rounded) {
  if (n_rows <= 0 || n <= 0) return;
  launch_kernel(s, unsigned(n_rows), kNormThreads, 0, add_rmsnorm_kernel, x, b, a, w, y, n, eps, w_const, rounded.qs,
                rounded.d);
}

void launch_rope_store(const LaunchStream& s, const RopeStoreArgs& a) {
  const int64_t half = a.head_dim / 2;
  const int64_t total = a.n_tokens * ((a.q_heads + a.k_heads) * half + a.v_row);
  if (total <= 0) return;
  const int64_t blocks = (total + 63) / 64;  // small blocks, as rope: latency-bound double math
  launch_kernel(s, unsigned(blocks < 65536 ? blocks : 65536), 64, 0, rope_store_kernel, a);
}

}  // namespace samepage::cuda
