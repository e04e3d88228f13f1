// Batch-1 GEMVs that share x, launched as one kernel (gemv_group.cu): the
// q, k and v projections of an attention block, or the gate and up
// projections of a feed-forward block with silu(gate) · up applied in the
// same kernel. A decode step of a 1B Llama pays 4 fewer launches, ramps and
// drains a layer. Each part's sums are those of the warp kernel's
// arithmetic (rows_dot), so they may differ from a single GEMV by float
// summation order only.
#pragma once

#include <cstdint>

#include "backends/cuda/kernels.h"

namespace samepage::cuda {

inline constexpr int kGemvGroupMaxParts = 3;

// What a q/k/v group (three parts, one row of x) may do with its products
// before it stores them (fusion_plan.h gemv_rope_store): rope q and k in
// pairs of adjacent elements (mode 0: pair i of a head is elements 2i, 2i +
// 1), and store the roped k and v as row pos of their caches, in the
// caches' dtypes, with rope_store's arithmetic. The products are stored
// too, where they are not the roped tensors' bytes.
struct GroupRope {
  const int32_t* pos_at = nullptr;  // a replay parameter (read before the wait: a graph's first node wrote it), or
  int64_t pos = 0;                  // the position itself
  int64_t head_dim = 0;
  float freq_base = 0, freq_scale = 0;
  const float* factors = nullptr;   // head_dim / 2 frequency divisors, or null
  float* q_out = nullptr;           // roped q and k: may be the q and k products themselves
  float* k_out = nullptr;
  void* k_cache = nullptr;          // rows of n[1] (k) and n[2] (v) elements
  DType k_cache_dtype = DType_f32;
  void* v_cache = nullptr;
  DType v_cache_dtype = DType_f32;
};

// y_i (m, n_i) = x (m, k) · W_i (n_i, k)ᵀ for i < n_parts, all W of dtype.
// silu_out not null: two parts of one n, and silu_out (m, n) = silu(y_0) ·
// y_1; y_0 and y_1 are written too, except the one silu_out is (exact alias).
struct GemvGroupArgs {
  DType dtype;
  int64_t m, k;
  const float* x;
  QuantizedX xq;  // quant weights: x rounded to 8-bit blocks (launch_quantize_x)
  int n_parts;
  const void* w[kGemvGroupMaxParts];
  float* y[kGemvGroupMaxParts];
  int64_t n[kGemvGroupMaxParts];
  bool w_const;  // every W resident in HBM, written by no kernel (see launch_gemv)
  bool packed;   // quant W in the GEMV layout (gemv_layout.h), not as GGUF rows
  float* silu_out;
  const GroupRope* rope;  // or null (with it: three parts, m = 1, no silu)
  // Adjacent rows a warp reads together (gemv_group_task_rows), on the GEMV
  // layout only: 4 of one plain part (a vocabulary head), 2 of each part of a
  // silu pair (4 when it rounds its output: round_out).
  int rows_per_task = 1;
  // A silu pair of quant weights, 4 rows of each a task, one row of x: the
  // silu output also rounded to 8-bit blocks here (a CTA's 32 rows are one
  // block), as quantize_x would for the quant product that reads it next.
  QuantizedX round_out;
};

// Whether launch_gemv_group takes these operands (dtype, m <= kGemvMaxRows,
// whole units of k, 16-byte aligned float rows and x).
bool gemv_group_fits(DType dtype, int64_t m, int64_t k, const void* const* w, int n_parts, const float* x);
// Whether the silu pair a can round its output (a.round_out's conditions).
bool gemv_group_rounds_silu(const GemvGroupArgs& a);
// Whether a's rope (not null) can be done by the group: three parts, one
// row, q and k whole heads of an even head_dim, pairs in one block.
bool gemv_group_ropes(const GemvGroupArgs& a);
Status launch_gemv_group(const LaunchStream& s, const GemvGroupArgs& a);

}  // namespace samepage::cuda
