// Causal GQA attention: a cluster of n_split blocks per (query token, head)
// — decode, and shapes the tensor-core prefill kernel (attention_prefill.cu)
// does not take. The warps take the visible cache positions in turn, each
// keeping an online softmax (running max, sum, weighted value sum) with q in
// registers, rescaled once a chunk of positions (the chunk's exponentials
// are independent of each other); each block merges its warps' partial
// results, every warp finding their weights at once with shuffles. The two
// together, measured on the H200 (bench/RESULTS.md, Session 22): 1B decode
// Q4_0 1-4% faster at 256 tokens and 19% at 1,024 than a rescale a
// position and a merge loop over the warps in every thread. A short context
// is the cluster's first block's alone; a long one is split among the
// cluster's blocks, which merge their results through distributed shared
// memory (Hopper). Measured on the H200 (bench/RESULTS.md, Session 17): the
// cluster's barrier and merge cost more than they save at short contexts
// (Session 22: splitting from 129 positions beat splitting from 257; lower
// thresholds were not measured; launch_attention); at 2,000 they make a 1B
// decode step a third faster. Lanes hold
// head_dim / 32 elements each, so head_dim is at most 32 * kMaxPerLane.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

// 16 warps (was 8; 32 spilled registers): a decode step has only n_heads
// items (32 for Llama-1B, a quarter of the SMs), so each block splits the
// context among more warps, and an item takes a cluster of up to kMaxSplit
// blocks while the grid stays within the SMs; a graph serves every position,
// so none of this may depend on the context length.
constexpr int kWarps = 16, kMaxPerLane = 8, kMaxSplit = 8;

template <DType kDt>
__device__ __forceinline__ float kv_at(const void* base, int64_t i) {
  if constexpr (kDt == DType_f32) return static_cast<const float*>(base)[i];
  else if constexpr (kDt == DType_f16) return f16_bits_to_f32(static_cast<const uint16_t*>(base)[i]);
  else return bf16_bits_to_f32(static_cast<const uint16_t*>(base)[i]);
}

// A warp takes its positions kChunk at a time: the k and v rows of a chunk
// are loaded together, so a short context costs a memory round trip or two
// a warp, not one a position. kPer: elements a lane holds (head_dim / 32,
// rounded up to a power of 2). 8 rows where they fit in registers without
// spilling (head_dim 64 and 128; it made the 1B decode 2-3% faster than 4).
template <int kPer>
constexpr int kChunkOf = kPer == 2 || kPer == 4 ? 8 : 4;

template <DType kDt, int kPer>
__global__ void __launch_bounds__(kWarps * 32)
    attention_kernel(const float* __restrict__ q, const void* __restrict__ k, const void* __restrict__ v,
                     float* __restrict__ out, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t pos0,
                     const int32_t* __restrict__ pos0_at, float score_scale, int8_t* __restrict__ rq,
                     float* __restrict__ rd, int n_split, int64_t alone_max) {
  pdl_wait();
  if (pos0_at != nullptr) pos0 = *pos0_at;  // a replayed graph's parameter
  // kWarps × (2 + head_dim): the warps' (max, sum, values); then the block's.
  extern __shared__ float shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  const int split = int(blockIdx.x % unsigned(n_split));  // the block's rank in its cluster
  const int64_t item = blockIdx.x / unsigned(n_split);  // token * n_heads + head
  const int64_t t = item / n_heads, h = item % n_heads;
  const int64_t g = h / (n_heads / n_kv_heads);
  const int64_t n_visible = pos0 + t + 1;
  // A context of at most alone_max positions is the first block's alone:
  // the others leave at once, and no block waits at the cluster's barrier
  // (the same choice in every block of a cluster: pos0 is theirs).
  const bool alone = n_split == 1 || n_visible <= alone_max;
  if (alone && split != 0) return;
  const float* qr = q + item * head_dim;
  const int64_t warp_stride = alone ? kWarps : int64_t(kWarps) * n_split;  // the warps taking positions

  float qv[kPer], acc[kPer];
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    const int64_t d = lane + 32 * j;
    qv[j] = d < head_dim ? qr[d] : 0.0f;
    acc[j] = 0.0f;
  }
  float run_max = -INFINITY, run_sum = 0.0f;
  constexpr int kChunk = kChunkOf<kPer>;
  for (int64_t p0 = int64_t(alone ? 0 : split) * kWarps + warp; p0 < n_visible; p0 += warp_stride * kChunk) {
    float kr[kChunk][kPer], vr[kChunk][kPer];
#pragma unroll
    for (int c = 0; c < kChunk; ++c) {
      const int64_t p = p0 + int64_t(c) * warp_stride;
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
    // The chunk's visible positions (at least its first) against one new
    // maximum: their exponentials are independent of each other, and the
    // running sums are rescaled once a chunk, not once a position.
    float chunk_max = score[0];
#pragma unroll
    for (int c = 1; c < kChunk; ++c)
      if (p0 + int64_t(c) * warp_stride < n_visible) chunk_max = fmaxf(chunk_max, score[c]);
    const float new_max = fmaxf(run_max, chunk_max);
    const float correction = expf(run_max - new_max);  // 0 on the first chunk (run_max -inf)
    float weight_sum = 0.0f, added[kPer] = {};
#pragma unroll
    for (int c = 0; c < kChunk; ++c) {
      if (p0 + int64_t(c) * warp_stride >= n_visible) break;
      const float weight = expf(score[c] - new_max);
      weight_sum += weight;
#pragma unroll
      for (int j = 0; j < kPer; ++j) added[j] += weight * vr[c][j];
    }
    run_sum = run_sum * correction + weight_sum;
#pragma unroll
    for (int j = 0; j < kPer; ++j) acc[j] = acc[j] * correction + added[j];
    run_max = new_max;
  }

  // The next kernel (the output projection, reading its weights early) is
  // let start once the cache reads are done, not ahead of them.
  pdl_launch_dependents();
  const int64_t part_size = 2 + head_dim;
  float* mine = shared + warp * part_size;
  if (lane == 0) mine[0] = run_max, mine[1] = run_sum;
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    const int64_t d = lane + 32 * j;
    if (d < head_dim) mine[2 + d] = acc[j];
  }
  __syncthreads();
  // Merge: warps (and blocks) that saw no position have max -inf and weigh 0.
  // Every warp finds the block's maximum and each warp's weight at once,
  // lane w taking warp w's part, then every lane keeps all the weights, so
  // the sums below need no shuffle. (The stores' rounding does shuffle:
  // whole warps store, as launch_attention asks head_dim % 32 == 0 for it.)
  static_assert(kWarps <= 32, "a lane a warp's part");
  const float lane_max = lane < kWarps ? shared[lane * part_size] : -INFINITY;
  const float lane_sum = lane < kWarps ? shared[lane * part_size + 1] : 0.0f;
  float m = lane_max;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  const float scale = lane_sum > 0.0f ? expf(lane_max - m) : 0.0f;
  const float total = warp_sum(lane_sum * scale);
  float scales[kWarps];
#pragma unroll
  for (int w = 0; w < kWarps; ++w) scales[w] = __shfl_sync(0xffffffffu, scale, w);
  auto block_value_sum = [&](int64_t d) {
    float sum = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += shared[w * part_size + 2 + d] * scales[w];
    return sum;
  };
  auto store = [&](int64_t d, float o) {
    out[item * head_dim + d] = o;
    if (rq != nullptr) store_rounded_lane(o, item * head_dim + d, rq, rd);  // a warp's 32 outputs: one block (head_dim % 32 == 0)
  };
  if (alone) {
    for (int64_t d = threadIdx.x; d < head_dim; d += kWarps * 32) store(d, block_value_sum(d) / total);
    return;
  }
  float* block_part = shared + kWarps * part_size;
  for (int64_t d = threadIdx.x; d < head_dim; d += kWarps * 32) block_part[2 + d] = block_value_sum(d);
  if (threadIdx.x == 0) block_part[0] = m, block_part[1] = total;
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  cluster.sync();  // every block's part is written and visible to the cluster
  // Each block stores whole 32-element runs of the outputs, in turn; the
  // warps that store merge the blocks' maxima and sums first.
  const int64_t first = (int64_t(warp) * n_split + split) * 32;
  float cluster_max = -INFINITY, cluster_total = 0.0f;
  if (first < head_dim) {
    float maxima[kMaxSplit], sums[kMaxSplit];
#pragma unroll
    for (int r = 0; r < kMaxSplit; ++r) {
      const float* part = r < n_split ? cluster.map_shared_rank(block_part, r) : nullptr;
      maxima[r] = part != nullptr ? part[0] : -INFINITY;
      sums[r] = part != nullptr ? part[1] : 0.0f;
      cluster_max = fmaxf(cluster_max, maxima[r]);
    }
#pragma unroll
    for (int r = 0; r < kMaxSplit; ++r)
      if (sums[r] > 0.0f) cluster_total += sums[r] * expf(maxima[r] - cluster_max);
  }
  for (int64_t base = first; base < head_dim; base += warp_stride * 32) {
    const int64_t d = base + lane;
    if (d >= head_dim) continue;
    float sum = 0.0f;
    for (int r = 0; r < n_split; ++r) {
      const float* part = cluster.map_shared_rank(block_part, r);
      if (part[1] > 0.0f) sum += part[2 + d] * expf(part[0] - cluster_max);
    }
    store(d, sum / cluster_total);
  }
  cluster.sync();  // no block leaves while another still reads its shared memory
}

// Blocks an item takes: a power of two up to kMaxSplit, while the grid still
// fits the SMs once.
int attention_split(int64_t items) {
  const int64_t sms = device_sm_count();
  int split = 1;
  while (split < kMaxSplit && items * split * 2 <= sms) split *= 2;
  return split;
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
  if (a.split > kMaxSplit) return err("cuda::attention", "a split over more than 8 blocks an item");
  const float scale = float(1.0 / std::sqrt(double(a.head_dim)));
  const int split = a.split > 0 ? a.split : attention_split(items);
  if (items * split > INT32_MAX) return err("cuda::attention", "too many (token, head) pairs");
  const size_t smem = sizeof(float) * (kWarps + 1) * size_t(2 + a.head_dim);
  // The first block alone takes contexts it covers in one pass of its warps
  // (8-row chunks): 128 positions. Measured on the H200 (bench/RESULTS.md,
  // Session 22), against two passes (256): 1B decode over 256 tokens Q4_0
  // 1,824-1,839 tok/s against 1,775-1,794, BF16 1,033-1,048 against 1,020-1,027.
  const int64_t alone_max = int64_t(kWarps) * kChunkOf<2>;
  auto launch = [&](auto kernel) {
    return launch_kernel_in_clusters(s, unsigned(split), unsigned(items * split), kWarps * 32, smem, kernel, a.q, a.k,
                                     a.v, a.out, a.n_heads, a.n_kv_heads, a.head_dim, a.pos0, a.pos0_at, scale,
                                     a.rounded.qs, a.rounded.d, split, alone_max);
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
