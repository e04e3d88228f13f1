// Causal GQA attention for many query tokens (prefill), flash-attention
// style: a CTA per (tile of kRows query tokens, head), four warps of 16 query
// rows each. K/V tiles of kCols cache positions are staged once in shared
// memory for all four warps; S = Q·Kᵀ and O += P·V run on tensor cores
// (WMMA 16×16×16, inputs in the cache's 16-bit type, f32 accumulation); the
// online softmax (running max and sum per row, f32) runs between them on S
// in shared memory, two lanes a row. O lives in shared memory (f32) so that
// each row can be rescaled when its running max moves.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cmath>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

using namespace nvcuda;

constexpr int kRows = 64, kCols = 64, kWarps = kRows / 16, kThreads = kWarps * 32;

template <typename T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Shared memory, in elements; pads keep WMMA rows off the same banks.
template <int D>
struct Layout {
  static constexpr int kLd = D + 8;           // Q, K, V rows (16-bit)
  static constexpr int kLdS = kCols + 4;      // S rows (f32)
  static constexpr int kLdP = kCols + 8;      // P rows (16-bit)
  static constexpr int kLdO = D + 4;          // O rows (f32)
  static constexpr size_t q = 0;
  static constexpr size_t k = q + size_t(kRows) * kLd * 2;
  static constexpr size_t v = k + size_t(kCols) * kLd * 2;
  static constexpr size_t s = v + size_t(kCols) * kLd * 2;
  static constexpr size_t p = s + size_t(kRows) * kLdS * 4;
  static constexpr size_t o = p + size_t(kRows) * kLdP * 2;
  static constexpr size_t bytes = o + size_t(kRows) * kLdO * 4;
};

template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    attention_prefill_kernel(const float* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                             float* __restrict__ out, int64_t n_tokens, int64_t n_heads, int64_t n_kv_heads,
                             int64_t pos0, const int32_t* __restrict__ pos0_at, float score_scale) {
  using L = Layout<D>;
  if (pos0_at != nullptr) pos0 = *pos0_at;  // a replayed graph's parameter
  extern __shared__ __align__(128) uint8_t smem[];
  T* qs = reinterpret_cast<T*>(smem + L::q);
  T* ks = reinterpret_cast<T*>(smem + L::k);
  T* vs = reinterpret_cast<T*>(smem + L::v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  float* s_w = reinterpret_cast<float*>(smem + L::s) + warp * 16 * L::kLdS;
  T* p_w = reinterpret_cast<T*>(smem + L::p) + warp * 16 * L::kLdP;
  float* o_w = reinterpret_cast<float*>(smem + L::o) + warp * 16 * L::kLdO;

  // Latest tokens (the longest rows) first.
  const int64_t t0 = int64_t(gridDim.x - 1 - blockIdx.x) * kRows;
  const int64_t h = blockIdx.y, g = h / (n_heads / n_kv_heads);
  const int64_t last_token = n_tokens - 1;

  for (int e = threadIdx.x; e < kRows * D; e += kThreads) {
    const int r = e / D, d = e % D;
    const int64_t t = t0 + r;
    qs[r * L::kLd + d] = from_f32<T>(t < n_tokens ? q[(t * n_heads + h) * D + d] : 0.0f);
  }
  for (int e = lane; e < 16 * L::kLdO; e += 32) o_w[e] = 0.0f;

  // This lane's row (two lanes a row, each half of its columns); rows past
  // the last token compute as the last token and are not written.
  const int row = lane / 2, half = lane & 1;
  const int64_t row_token = t0 + warp * 16 + row;
  const int64_t row_limit = pos0 + (row_token < last_token ? row_token : last_token);  // last visible position
  const int64_t warp_last = t0 + warp * 16 + 15;
  const int64_t warp_limit = pos0 + (warp_last < last_token ? warp_last : last_token);
  const int64_t block_last = t0 + kRows - 1;
  const int64_t n_kv = pos0 + (block_last < last_token ? block_last : last_token) + 1;  // positions [0, n_kv)
  float run_max = -INFINITY, run_sum = 0.0f;

  constexpr int kVecs = D / 8;  // 16-byte vectors a cache row
  for (int64_t kv0 = 0; kv0 < n_kv; kv0 += kCols) {
    __syncthreads();  // the previous tile is no longer read
    for (int e = threadIdx.x; e < kCols * kVecs; e += kThreads) {
      const int r = e / kVecs, c = e % kVecs;
      const int64_t pos = kv0 + r;
      uint4 kv_k = make_uint4(0, 0, 0, 0), kv_v = kv_k;
      if (pos < n_kv) {
        const int64_t at = (pos * n_kv_heads + g) * D;
        kv_k = reinterpret_cast<const uint4*>(k + at)[c];
        kv_v = reinterpret_cast<const uint4*>(v + at)[c];
      }
      reinterpret_cast<uint4*>(ks + r * L::kLd)[c] = kv_k;
      reinterpret_cast<uint4*>(vs + r * L::kLd)[c] = kv_v;
    }
    __syncthreads();
    if (kv0 > warp_limit) continue;  // every row of this warp is before the tile

    // S (16, kCols) = Q (16, D) · Kᵀ.
    for (int c = 0; c < kCols / 16; ++c) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
        wmma::load_matrix_sync(a, qs + warp * 16 * L::kLd + kk * 16, L::kLd);
        wmma::load_matrix_sync(b, ks + c * 16 * L::kLd + kk * 16, L::kLd);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(s_w + c * 16, acc, L::kLdS, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax over this lane's 32 columns of its row.
    const float* srow = s_w + row * L::kLdS + half * 32;
    const int64_t col0 = kv0 + half * 32;
    float tile_max = -INFINITY;
#pragma unroll 8
    for (int j = 0; j < 32; ++j)
      if (col0 + j <= row_limit) tile_max = fmaxf(tile_max, srow[j] * score_scale);
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    const float new_max = fmaxf(run_max, tile_max);  // finite: position 0 is in the first tile
    const float correction = expf(run_max - new_max);
    float tile_sum = 0.0f;
    T* prow = p_w + row * L::kLdP + half * 32;
#pragma unroll 8
    for (int j = 0; j < 32; ++j) {
      const float p = col0 + j <= row_limit ? expf(srow[j] * score_scale - new_max) : 0.0f;
      tile_sum += p;
      prow[j] = from_f32<T>(p);
    }
    tile_sum += __shfl_xor_sync(0xffffffffu, tile_sum, 1);
    run_sum = run_sum * correction + tile_sum;
    run_max = new_max;
    if (correction != 1.0f) {  // once the row's max settles, most tiles leave O as it is
      float* orow = o_w + row * L::kLdO + half * (D / 2);
#pragma unroll 8
      for (int d = 0; d < D / 2; ++d) orow[d] *= correction;
    }
    __syncwarp();

    // O (16, D) += P (16, kCols) · V (kCols, D).
    for (int dc = 0; dc < D / 16; ++dc) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, o_w + dc * 16, L::kLdO, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kCols / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
        wmma::load_matrix_sync(a, p_w + kk * 16, L::kLdP);
        wmma::load_matrix_sync(b, vs + kk * 16 * L::kLd + dc * 16, L::kLd);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(o_w + dc * 16, acc, L::kLdO, wmma::mem_row_major);
    }
    __syncwarp();
  }

  if (row_token > last_token) return;
  const float inv = 1.0f / run_sum;
  const float* orow = o_w + row * L::kLdO + half * (D / 2);
  float* dst = out + (row_token * n_heads + h) * D + half * (D / 2);
  for (int d = 0; d < D / 2; ++d) dst[d] = orow[d] * inv;
}

template <typename T, int D>
Status launch_typed(cudaStream_t s, const AttentionArgs& a, float scale) {
  auto kernel = attention_prefill_kernel<T, D>;
  // Above 48 KiB of shared memory needs an opt-in, once per kernel (not a
  // stream operation: allowed while a graph is captured).
  static const cudaError_t opted =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Layout<D>::bytes));
  if (opted != cudaSuccess) return cuda_status(opted, "cuda::attention", "shared memory opt-in");
  const int64_t tiles = (a.n_q_tokens + kRows - 1) / kRows;
  if (tiles > INT32_MAX || a.n_heads > 65535) return err("cuda::attention", "too many tokens or heads");
  kernel<<<dim3(unsigned(tiles), unsigned(a.n_heads)), kThreads, Layout<D>::bytes, s>>>(
      a.q, static_cast<const T*>(a.k), static_cast<const T*>(a.v), a.out, a.n_q_tokens, a.n_heads, a.n_kv_heads,
      a.pos0, a.pos0_at, scale);
  return cuda_status(cudaGetLastError(), "cuda::attention", "prefill launch");
}

}  // namespace

bool attention_prefill_fits(const AttentionArgs& a) {
  const bool aligned = (reinterpret_cast<uintptr_t>(a.k) | reinterpret_cast<uintptr_t>(a.v)) % 16 == 0;
  return a.n_q_tokens >= kAttentionPrefillMinTokens && (a.kv_dtype == DType_f16 || a.kv_dtype == DType_bf16) &&
         (a.head_dim == 64 || a.head_dim == 128) && aligned && a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0;
}

Status launch_attention_prefill(cudaStream_t s, const AttentionArgs& a) {
  if (!attention_prefill_fits(a)) return err("cuda::attention", "not a shape the prefill kernel takes");
  const float scale = float(1.0 / std::sqrt(double(a.head_dim)));
  if (a.kv_dtype == DType_f16)
    return a.head_dim == 64 ? launch_typed<__half, 64>(s, a, scale) : launch_typed<__half, 128>(s, a, scale);
  return a.head_dim == 64 ? launch_typed<__nv_bfloat16, 64>(s, a, scale) : launch_typed<__nv_bfloat16, 128>(s, a, scale);
}

}  // namespace samepage::cuda
