// attention: per (token, head) two passes over the visible cache rows: scores
// (one dot kernel per key row), then max/exp/sum and a weighted sum of value rows.
#include "backends/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/kernels.h"

namespace samepage::cpu {

Status attention(CpuContext& ctx, const AttentionShape& shape, const float* q, DType kv_dtype,
                 const void* k_cache, const void* v_cache, float* out) {
  const auto& s = shape;
  if (kv_dtype != DType_f32 && kv_dtype != DType_f16 && kv_dtype != DType_bf16) {
    return err("cpu::attention", std::string("unsupported kv dtype ") + dtype_name(kv_dtype));
  }
  if (s.n_q_tokens < 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.head_dim <= 0 || s.pos0 < 0) {
    return err("cpu::attention", "sizes must be positive");
  }
  if (s.n_heads % s.n_kv_heads != 0) {
    return err("cpu::attention", "n_heads = " + std::to_string(s.n_heads) + " is not a multiple of n_kv_heads = " +
                                     std::to_string(s.n_kv_heads));
  }
  if (s.pos0 + s.n_q_tokens > s.n_ctx) {
    return err("cpu::attention", "query positions reach past the cache (pos0 + n_q_tokens > n_ctx)");
  }

  const CpuKernels& kernels = cpu_kernels(ctx.isa());
  const DotFn dot = kernels.dot[kv_dtype];
  const auto axpy = [&](float a, const void* v, float* y) {
    switch (kv_dtype) {
      case DType_f16: return kernels.axpy_f16(a, static_cast<const uint16_t*>(v), y, s.head_dim);
      case DType_bf16: return kernels.axpy_bf16(a, static_cast<const uint16_t*>(v), y, s.head_dim);
      default: return kernels.axpy_f32(a, static_cast<const float*>(v), y, s.head_dim);
    }
  };
  const int64_t group = s.n_heads / s.n_kv_heads;
  const size_t head_bytes = row_bytes(kv_dtype, s.head_dim);
  const size_t cache_row_bytes = head_bytes * size_t(s.n_kv_heads);  // one position, all kv heads
  const auto* k_bytes = static_cast<const uint8_t*>(k_cache);
  const auto* v_bytes = static_cast<const uint8_t*>(v_cache);
  const float score_scale = float(1.0 / std::sqrt(double(s.head_dim)));

  // Heads of one group sit next to each other, so a task's key rows are
  // reused from cache by its neighbouring heads.
  ctx.pool().parallel_for(s.n_q_tokens * s.n_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(size_t(s.pos0 + s.n_q_tokens));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / s.n_heads, h = item % s.n_heads;
      const size_t kv_offset = size_t(h / group) * head_bytes;
      const int64_t n_visible = s.pos0 + t + 1;
      const float* q_head = q + item * s.head_dim;
      const XRow q_row{q_head, nullptr, nullptr, nullptr};

      float max = -INFINITY;
      for (int64_t p = 0; p < n_visible; ++p) {
        const float score = dot(k_bytes + size_t(p) * cache_row_bytes + kv_offset, q_row, s.head_dim) * score_scale;
        scores[size_t(p)] = score;
        max = std::max(max, score);
      }
      const float inv_sum = 1.0f / kernels.exp_sum(scores.data(), scores.data(), max, n_visible);

      float* o = out + item * s.head_dim;
      std::fill(o, o + s.head_dim, 0.0f);
      for (int64_t p = 0; p < n_visible; ++p) {
        axpy(scores[size_t(p)] * inv_sum, v_bytes + size_t(p) * cache_row_bytes + kv_offset, o);
      }
    }
  });
  return Status::ok();
}

}  // namespace samepage::cpu
