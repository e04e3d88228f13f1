// Causal GQA attention: one block per (query token, head) — decode, and
// shapes the tensor-core prefill kernel (attention_prefill.cu) does not take. Its warps take
// the visible cache positions in turn, each keeping an online softmax
// (running max, sum, weighted value sum) with q in registers; the block then
// merges the warps' partial results. Lanes hold head_dim / 32 elements each,
// so head_dim is at most 32 * kMaxPerLane.
#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

// 16 warps (was 8; 32 spilled registers): a decode step has only n_heads
// blocks (32 for Llama-1B, a quarter of the SMs), so each block splits the
// context among more warps; a graph serves every position, so this cannot
// depend on the context length.
constexpr int kWarps = 16, kMaxPerLane = 8;

template <DType kDt>
__device__ __forceinline__ float kv_at(const void* base, int64_t i) {
  if constexpr (kDt == DType_f32) return static_cast<const float*>(base)[i];
  else if constexpr (kDt == DType_f16) return f16_bits_to_f32(static_cast<const uint16_t*>(base)[i]);
  else return bf16_bits_to_f32(static_cast<const uint16_t*>(base)[i]);
}

// A warp takes its positions kChunk at a time: the k and v rows of a chunk
// are loaded together, so a short context costs a memory round trip or two
// a warp, not one a position. kPer: elements a lane holds (head_dim / 32,
// rounded up to a power of 2), so the chunk's rows fit in registers.
constexpr int kChunk = 4;

template <DType kDt, int kPer>
__global__ void __launch_bounds__(kWarps * 32)
    attention_kernel(const float* __restrict__ q, const void* __restrict__ k, const void* __restrict__ v,
                     float* __restrict__ out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t pos0,
                     const int32_t* __restrict__ pos0_at, float score_scale, int8_t* __restrict__ rq,
                     float* __restrict__ rd) {
  pdl_wait();
  if (pos0_at != nullptr) pos0 = *pos0_at;  // a replayed graph's parameter
  extern __shared__ float shared[];  // kWarps × (2 + head_dim)
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  const int64_t item = blockIdx.x;  // token * n_heads + head
  const int64_t t = item / n_heads, h = item % n_heads;
  const int64_t g = h / (n_heads / n_kv_heads);
  const int64_t n_visible = pos0 + t + 1;
  const float* qr = q + item * head_dim;

  float qv[kPer], acc[kPer];
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    const int64_t d = lane + 32 * j;
    qv[j] = d < head_dim ? qr[d] : 0.0f;
    acc[j] = 0.0f;
  }
  float run_max = -INFINITY, run_sum = 0.0f;
  for (int64_t p0 = warp; p0 < n_visible; p0 += int64_t(kWarps) * kChunk) {
    float kr[kChunk][kPer], vr[kChunk][kPer];
#pragma unroll
    for (int c = 0; c < kChunk; ++c) {
      const int64_t p = p0 + int64_t(c) * kWarps;
      const int64_t row = (p * n_kv_heads + g) * head_dim;
#pragma unroll
      for (int j = 0; j < kPer; ++j) {
        const int64_t d = lane + 32 * j;
        const bool in = p < n_visible && d < head_dim;
        kr[c][j] = in ? kv_at<kDt>(k, row + d) : 0.0f;
        vr[c][j] = in ? kv_at<kDt>(v, row + d) : 0.0f;
      }
    }
    float score[kChunk];
#pragma unroll
    for (int c = 0; c < kChunk; ++c) {
      float partial = 0.0f;
#pragma unroll
      for (int j = 0; j < kPer; ++j) partial += qv[j] * kr[c][j];
      score[c] = warp_sum(partial) * score_scale;
    }
#pragma unroll
    for (int c = 0; c < kChunk; ++c) {
      if (p0 + int64_t(c) * kWarps >= n_visible) break;
      const float new_max = fmaxf(run_max, score[c]);
      const float correction = expf(run_max - new_max);
      const float weight = expf(score[c] - new_max);
      run_sum = run_sum * correction + weight;
#pragma unroll
      for (int j = 0; j < kPer; ++j) acc[j] = acc[j] * correction + weight * vr[c][j];
      run_max = new_max;
    }
  }

  // The next kernel (the output projection, reading its weights early) is
  // let start once the cache reads are done, not ahead of them.
  pdl_launch_dependents();
  float* mine = shared + warp * (2 + head_dim);
  if (lane == 0) mine[0] = run_max, mine[1] = run_sum;
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    const int64_t d = lane + 32 * j;
    if (d < head_dim) mine[2 + d] = acc[j];
  }
  __syncthreads();
  // Merge: warps that saw no position have max -inf and weigh 0.
  float m = -INFINITY;
  for (int w = 0; w < kWarps; ++w) m = fmaxf(m, shared[w * (2 + head_dim)]);
  float total = 0.0f;
  for (int w = 0; w < kWarps; ++w) {
    const float* part = shared + w * (2 + head_dim);
    if (part[1] > 0.0f) total += part[1] * expf(part[0] - m);
  }
  for (int64_t d = threadIdx.x; d < head_dim; d += kWarps * 32) {
    float sum = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      const float* part = shared + w * (2 + head_dim);
      if (part[1] > 0.0f) sum += part[2 + d] * expf(part[0] - m);
    }
    const float o = sum / total;
    out[item * head_dim + d] = o;
    if (rq != nullptr) store_rounded_lane(o, item * head_dim + d, rq, rd);  // a warp's 32 outputs: one block (head_dim % 32 == 0)
  }
}

}  // namespace

Status launch_attention(const LaunchStream& s, const AttentionArgs& a) {
  if (a.head_dim > 32 * kMaxPerLane)
    return err("cuda::attention", "head_dim " + std::to_string(a.head_dim) + " is above this kernel's " +
                                      std::to_string(32 * kMaxPerLane));
  const int64_t items = a.n_q_tokens * a.n_heads;
  if (items <= 0) return Status::ok();
  if (a.rounded.qs != nullptr && a.head_dim % 32 != 0)
    return err("cuda::attention", "rounding the output takes whole 32-element blocks a head");
  if (attention_prefill_fits(a)) {
    if (Status st = launch_attention_prefill(s.stream, a); !st || a.rounded.qs == nullptr) return st;
    return launch_quantize_x(s, a.out, items * a.head_dim, a.rounded);
  }
  if (items > INT32_MAX) return err("cuda::attention", "too many (token, head) pairs");
  const float scale = float(1.0 / std::sqrt(double(a.head_dim)));
  const size_t smem = sizeof(float) * kWarps * size_t(2 + a.head_dim);
  auto launch = [&](auto kernel) {
    return launch_kernel(s, unsigned(items), kWarps * 32, smem, kernel, a.q, a.k, a.v, a.out, a.n_heads, a.n_kv_heads,
                         a.head_dim, a.pos0, a.pos0_at, scale, a.rounded.qs, a.rounded.d);
  };
  auto by_width = [&](auto dt) {  // kPer: head_dim / 32 rounded up to a power of 2
    constexpr DType kDt = decltype(dt)::value;
    if (a.head_dim <= 32) return launch(attention_kernel<kDt, 1>);
    if (a.head_dim <= 64) return launch(attention_kernel<kDt, 2>);
    if (a.head_dim <= 128) return launch(attention_kernel<kDt, 4>);
    return launch(attention_kernel<kDt, kMaxPerLane>);
  };
  cudaError_t e = cudaSuccess;
  switch (a.kv_dtype) {
    case DType_f32: e = by_width(std::integral_constant<DType, DType_f32>{}); break;
    case DType_f16: e = by_width(std::integral_constant<DType, DType_f16>{}); break;
    case DType_bf16: e = by_width(std::integral_constant<DType, DType_bf16>{}); break;
    default: return err("cuda::attention", std::string("unsupported kv dtype ") + dtype_name(a.kv_dtype));
  }
  return cuda_status(e, "cuda::attention", "launch");
}

}  // namespace samepage::cuda
