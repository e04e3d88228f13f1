// attention: per (token, head) two passes over the visible cache rows: scores
// (q against every key row), then max/exp/sum and the weighted sum of value rows.
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
  const DotRowsFn dot_rows = kernels.dot_rows[kv_dtype];
  const SumRowsFn sum_rows = kernels.sum_rows[kv_dtype];
  const int64_t group = s.n_heads / s.n_kv_heads;
  const size_t head_bytes = row_bytes(kv_dtype, s.head_dim);
  const size_t cache_row_bytes = head_bytes * size_t(s.n_kv_heads);  // one position, all kv heads
  const auto* k_bytes = static_cast<const uint8_t*>(k_cache);
  const auto* v_bytes = static_cast<const uint8_t*>(v_cache);
  const float score_scale = float(1.0 / std::sqrt(double(s.head_dim)));

  // Items are (token, head) with heads of one group adjacent, so a task's
  // key and value rows are reused from cache by its neighbouring heads.
  ctx.pool().parallel_for(s.n_q_tokens * s.n_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(s.pos0 + s.n_q_tokens));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / s.n_heads, h = item % s.n_heads;
      const size_t kv_offset = size_t(h / group) * head_bytes;
      const int64_t n_visible = s.pos0 + t + 1;  // causal: positions 0 .. pos0 + t

      dot_rows(k_bytes + kv_offset, cache_row_bytes, n_visible, q + item * s.head_dim, s.head_dim, scores.data());
      float max = -INFINITY;
      for (int64_t p = 0; p < n_visible; ++p) {
        scores[size_t(p)] *= score_scale;
        max = std::max(max, scores[size_t(p)]);
      }
      const float inv_sum = 1.0f / kernels.exp_sum(scores.data(), scores.data(), max, n_visible);
      for (int64_t p = 0; p < n_visible; ++p) scores[size_t(p)] *= inv_sum;
      sum_rows(v_bytes + kv_offset, cache_row_bytes, n_visible, scores.data(), s.head_dim, out + item * s.head_dim);
    }
  });
  return Status::ok();
}

}  // namespace samepage::cpu
