// CPU backend: rotary position embedding (RoPE), both GGUF layouts.
//
// Pair i (0 <= i < head_dim/2) of a head is rotated by the angle
//   theta_i = position * freq_scale * freq_base^(-2i / head_dim) / factors[i]
// (factors: Llama 3.1+ rope_freqs.weight, absent: 1)
// (freq_scale < 1 is linear position interpolation). Pairs are
//   RopeMode_normal: elements (2i, 2i + 1)          — GGUF Llama
//   RopeMode_neox:   elements (i, i + head_dim / 2)  — GPT-NeoX, Qwen, ...
// The rotary dimension is the whole head.
#pragma once

#include <cstdint>

#include "samepage/status.h"

namespace samepage::cpu {

enum RopeMode : int32_t {
  RopeMode_normal = 0,
  RopeMode_neox = 1,
};

struct RopeParams {
  int64_t head_dim = 0;  // even
  int64_t n_heads = 0;
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  RopeMode mode = RopeMode_normal;
  const float* factors = nullptr;  // (head_dim / 2) per-pair divisors of the angle, or null
};

// x, y: (n_tokens, n_heads, head_dim); token t is at position pos0 + t.
// y may equal x. Angles are computed in double, so large positions keep their
// precision (ggml accumulates them in float).
Status rope(const RopeParams& params, const float* x, float* y, int64_t n_tokens, int64_t pos0);

}  // namespace samepage::cpu
