// CPU backend: causal grouped-query attention of new query rows over a KV cache.
//
// Query token t (absolute position pos0 + t) of head h attends to cache rows
// 0 .. pos0 + t of kv head h / (n_heads / n_kv_heads), with scores
// q·k / sqrt(head_dim) and a max-subtracted softmax. The cache must already
// hold the keys and values of the query tokens themselves.
#pragma once

#include <cstdint>

#include "backends/cpu/context.h"
#include "backends/cpu/dtype.h"
#include "samepage/status.h"

namespace samepage::cpu {

struct AttentionShape {
  int64_t n_q_tokens = 0;  // query rows in this call
  int64_t n_heads = 0;     // query heads
  int64_t n_kv_heads = 0;  // divides n_heads
  int64_t head_dim = 0;
  int64_t n_ctx = 0;       // cache rows given; pos0 + n_q_tokens <= n_ctx
  int64_t pos0 = 0;        // position of query row 0
};

// q: (n_q_tokens, n_heads, head_dim) f32.
// k_cache, v_cache: (n_ctx, n_kv_heads, head_dim) in kv_dtype (f32, f16, bf16).
// out: (n_q_tokens, n_heads, head_dim) f32, must not overlap the inputs.
// Threads split the (token, head) pairs.
Status attention(CpuContext& ctx, const AttentionShape& shape, const float* q, DType kv_dtype,
                 const void* k_cache, const void* v_cache, float* out);

}  // namespace samepage::cpu
