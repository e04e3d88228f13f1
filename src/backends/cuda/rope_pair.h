// One RoPE pair, shared by rope.cu and the fused rope + cache store
// (fused_kernels.cu). The angle and its cos/sin are in double, as the CPU
// reference computes them (exact at long positions).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace samepage::cuda {

struct RopeShape {
  int64_t n_heads, head_dim;
  double freq_base, freq_scale;
  int32_t mode;           // 0: pairs (2i, 2i+1); 1: (i, i + head_dim/2)
  const float* factors;   // head_dim/2 divisors of each pair's frequency, or null
};

// cos and sin of pair i of a head at position pos, as floats.
__device__ __forceinline__ void rope_angle(int64_t i, int64_t pos, const RopeShape& r, float* c, float* s) {
  double inv_freq = pow(r.freq_base, -2.0 * double(i) / double(r.head_dim));
  if (r.factors != nullptr) inv_freq /= double(r.factors[i]);  // Llama 3.1/3.2 rope_freqs
  const double theta = double(pos) * r.freq_scale * inv_freq;
  double sin_theta, cos_theta;
  sincos(theta, &sin_theta, &cos_theta);
  *c = float(cos_theta), *s = float(sin_theta);
}

// Rotates pair e (of n_tokens * n_heads * head_dim/2) of x at position pos0 +
// token into y; at and partner give the two elements' indices (at, at + partner).
__device__ __forceinline__ void rope_pair(const float* x, float* y, int64_t e, int64_t pos0, const RopeShape& r,
                                          int64_t* at_out, int64_t* partner_out, float* a_out, float* b_out) {
  const int64_t n_pairs = r.head_dim / 2;
  const int64_t i = e % n_pairs, th = e / n_pairs;  // th: token * n_heads + head
  const int64_t t = th / r.n_heads;
  float c, sn;
  rope_angle(i, pos0 + t, r, &c, &sn);
  const int64_t stride = r.mode == 0 ? 2 : 1, partner = r.mode == 0 ? 1 : n_pairs;
  const int64_t at = th * r.head_dim + i * stride;
  const float a = x[at], b = x[at + partner];
  const float ya = a * c - b * sn, yb = a * sn + b * c;
  y[at] = ya;
  y[at + partner] = yb;
  *at_out = at, *partner_out = partner, *a_out = ya, *b_out = yb;
}

}  // namespace samepage::cuda
