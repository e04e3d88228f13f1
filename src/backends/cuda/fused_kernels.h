// Kernels that do several recorded ops in one launch (fusion_plan.h says
// which), with each op's arithmetic unchanged: the results are the bits the
// ops give one by one.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"
#include "samepage/dtype.h"

namespace samepage::cuda {

// a = x + b (n_rows × n), then y = rmsnorm(a rows) · w. y may be a, x or b,
// and a may be x or b (exact aliases; the planner refuses partial overlap).
// w_const: w is written by no kernel (launch_gemv's w_const). rounded.qs
// not null (n a multiple of 32): y is also rounded to 8-bit blocks there, as
// quantize_x would for the quant product that reads y next.
void launch_add_rmsnorm(const LaunchStream& s, const float* x, const float* b, float* a, const float* w, bool w_const,
                        float* y, int64_t n_rows, int64_t n, float eps, QuantizedX rounded = {});

// rope of q and of k (both (n_tokens, heads, head_dim), same rope), then the
// roped k and v (n_tokens rows of k_row / v_row elements) stored at rows
// [pos0, pos0 + n_tokens) of their caches in the caches' dtypes.
struct RopeStoreArgs {
  const float* q_in;
  float* q_out;
  int64_t q_heads;
  const float* k_in;
  float* k_out;
  int64_t k_heads;
  int64_t n_tokens, head_dim;
  float freq_base, freq_scale;
  int32_t mode;
  const float* factors;  // or null
  void* k_cache;
  DType k_cache_dtype;
  int64_t k_row;  // elements per k cache row (one token: k_heads * head_dim)
  const float* v;
  int64_t v_row;  // elements per token of v (and of a v cache row)
  void* v_cache;
  DType v_cache_dtype;
  int64_t pos0;
  const int32_t* pos0_at;  // a replay parameter, or null
};
void launch_rope_store(const LaunchStream& s, const RopeStoreArgs& a);

}  // namespace samepage::cuda
