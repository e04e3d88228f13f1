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
};

// Whether launch_gemv_group takes these operands (dtype, m <= kGemvMaxRows,
// whole units of k, 16-byte aligned float rows and x).
bool gemv_group_fits(DType dtype, int64_t m, int64_t k, const void* const* w, int n_parts, const float* x);
Status launch_gemv_group(const LaunchStream& s, const GemvGroupArgs& a);

}  // namespace samepage::cuda
