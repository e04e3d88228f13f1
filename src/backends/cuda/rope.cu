// RoPE: one thread per (token, head, pair); the angle and its cos/sin in
// double, as the CPU reference computes them (exact at long positions).
#include <cuda_runtime.h>

#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

__global__ void rope_kernel(const float* x, float* y, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                            int64_t pos0, const int32_t* pos0_at, double freq_base, double freq_scale, int32_t mode,
                            const float* factors) {
  if (pos0_at != nullptr) pos0 = *pos0_at;  // a replayed graph's parameter
  const int64_t n_pairs = head_dim / 2;
  const int64_t total = n_tokens * n_heads * n_pairs;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e % n_pairs, th = e / n_pairs;  // th: token * n_heads + head
    const int64_t t = th / n_heads;
    double inv_freq = pow(freq_base, -2.0 * double(i) / double(head_dim));
    if (factors != nullptr) inv_freq /= double(factors[i]);  // Llama 3.1/3.2 rope_freqs
    const double theta = double(pos0 + t) * freq_scale * inv_freq;
    double sin_theta, cos_theta;
    sincos(theta, &sin_theta, &cos_theta);
    const float c = float(cos_theta), sn = float(sin_theta);
    const int64_t stride = mode == 0 ? 2 : 1, partner = mode == 0 ? 1 : n_pairs;
    const int64_t at = th * head_dim + i * stride;
    const float a = x[at], b = x[at + partner];
    y[at] = a * c - b * sn;
    y[at + partner] = a * sn + b * c;
  }
}

}  // namespace

void launch_rope(cudaStream_t s, const float* x, float* y, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                 int64_t pos0, const int32_t* pos0_at, float freq_base, float freq_scale, int32_t mode,
                 const float* factors) {
  const int64_t total = n_tokens * n_heads * (head_dim / 2);
  if (total <= 0) return;
  // Small blocks: a decode step's rope is ~1,000 pairs of double-precision
  // pow and sincos, latency-bound, so spread over as many SMs as possible.
  const int64_t blocks = (total + 63) / 64;
  rope_kernel<<<unsigned(blocks < 65536 ? blocks : 65536), 64, 0, s>>>(x, y, n_tokens, n_heads, head_dim, pos0, pos0_at,
                                                                       double(freq_base), double(freq_scale), mode, factors);
}

}  // namespace samepage::cuda
