// RoPE: one cos/sin table per token, applied to every head.
#include "backends/cpu/rope.h"

#include <cmath>
#include <vector>

namespace samepage::cpu {

Status rope(const RopeParams& params, const float* x, float* y, int64_t n_tokens, int64_t pos0) {
  const int64_t head_dim = params.head_dim;
  if (head_dim <= 0 || head_dim % 2 != 0) return err("cpu::rope", "head_dim must be even and positive");
  if (params.n_heads < 0 || n_tokens < 0 || pos0 < 0) return err("cpu::rope", "negative size or position");
  if (params.mode != RopeMode_normal && params.mode != RopeMode_neox) return err("cpu::rope", "unknown mode");

  const int64_t n_pairs = head_dim / 2;
  // Pair i's element offsets within a head.
  const int64_t stride = params.mode == RopeMode_normal ? 2 : 1;
  const int64_t partner = params.mode == RopeMode_normal ? 1 : n_pairs;
  std::vector<double> inv_freq(static_cast<size_t>(n_pairs));
  for (int64_t i = 0; i < n_pairs; ++i) {
    inv_freq[size_t(i)] = std::pow(double(params.freq_base), -2.0 * double(i) / double(head_dim));
    if (params.factors != nullptr) inv_freq[size_t(i)] /= double(params.factors[i]);
  }
  std::vector<float> cos_table(static_cast<size_t>(n_pairs)), sin_table(static_cast<size_t>(n_pairs));

  const int64_t token_elems = params.n_heads * head_dim;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const double position = double(pos0 + t) * double(params.freq_scale);
    for (int64_t i = 0; i < n_pairs; ++i) {
      const double theta = position * inv_freq[size_t(i)];
      cos_table[size_t(i)] = float(std::cos(theta));
      sin_table[size_t(i)] = float(std::sin(theta));
    }
    for (int64_t h = 0; h < params.n_heads; ++h) {
      const float* src = x + t * token_elems + h * head_dim;
      float* dst = y + t * token_elems + h * head_dim;
      for (int64_t i = 0; i < n_pairs; ++i) {
        const float a = src[i * stride], b = src[i * stride + partner];
        const float c = cos_table[size_t(i)], s = sin_table[size_t(i)];
        dst[i * stride] = a * c - b * s;
        dst[i * stride + partner] = a * s + b * c;
      }
    }
  }
  return Status::ok();
}

}  // namespace samepage::cpu
