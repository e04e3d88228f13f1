// Row reductions: softmax and argmax, one block per row, NaN rules as the
// CPU's (softmax.h): a NaN anywhere in a softmax row makes the row NaN;
// argmax takes the first maximum, skips NaN, gives 0 for an all-NaN row.
#include <cuda_runtime.h>

#include <cmath>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"

namespace samepage::cuda {
namespace {

constexpr int kThreads = 256;

// max that keeps NaN (fmaxf would drop it).
__device__ __forceinline__ float nan_max(float a, float b) { return (isnan(a) || isnan(b)) ? NAN : fmaxf(a, b); }

__global__ void softmax_kernel(const float* x, float* y, int64_t n) {
  pdl_enter();
  __shared__ float red[kThreads];
  const float* xr = x + int64_t(blockIdx.x) * n;
  float* yr = y + int64_t(blockIdx.x) * n;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) m = nan_max(m, xr[i]);
  red[threadIdx.x] = m;
  __syncthreads();
  for (int o = kThreads / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] = nan_max(red[threadIdx.x], red[threadIdx.x + o]);
    __syncthreads();
  }
  const float max = red[0];
  __syncthreads();
  float sum = 0.0f;
  // y may be x: each element is read, then written, by the same thread.
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const float e = expf(xr[i] - max);  // all -inf: -inf - -inf = NaN, as the CPU
    yr[i] = e;
    sum += e;
  }
  red[threadIdx.x] = sum;
  __syncthreads();
  for (int o = kThreads / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
    __syncthreads();
  }
  const float inv_sum = 1.0f / red[0];
  for (int64_t i = threadIdx.x; i < n; i += kThreads) yr[i] *= inv_sum;
}

// (value, index) with NaN as "nothing yet": the better of two candidates.
__device__ __forceinline__ bool better(float v, int64_t i, float bv, int64_t bi) {
  if (isnan(v)) return false;
  if (isnan(bv)) return true;
  return v > bv || (v == bv && i < bi);
}

// One block of 1024 threads per row; the logits row of a large vocabulary
// (128,256 floats) is streamed with 16-byte loads, four in flight per thread
// (a 256-thread scalar loop was latency-bound: ~70 us for one row).
constexpr int kArgmaxThreads = 1024;

// The block's best (value, index) of its threads' (better's order, ties to
// the lower index): true in warp 0, whose lanes then all hold it.
__device__ __forceinline__ bool block_best(float& bv, int64_t& bi) {
  __shared__ float vals[kArgmaxThreads / 32];
  __shared__ int64_t idx[kArgmaxThreads / 32];
  auto warp_best = [&] {
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_down_sync(0xffffffffu, bv, o);
      const int64_t oi = __shfl_down_sync(0xffffffffu, bi, o);
      if (better(ov, oi, bv, bi)) bv = ov, bi = oi;
    }
  };
  warp_best();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) vals[warp] = bv, idx[warp] = bi;
  __syncthreads();
  if (warp != 0) return false;
  bv = vals[lane], bi = idx[lane];
  warp_best();
  return true;
}

__global__ void argmax_kernel(const float* x, int32_t* out, int64_t n) {
  pdl_enter();
  const float* xr = x + int64_t(blockIdx.x) * n;
  float bv = NAN;
  int64_t bi = INT64_MAX;
  // Each thread sees its own indices in increasing order, so "first maximum"
  // holds within a thread; the reductions below compare indices.
  int64_t head = 0;
  if ((reinterpret_cast<uintptr_t>(xr) & 15) == 0) {
    const int64_t n4 = n / 4;
    const float4* x4 = reinterpret_cast<const float4*>(xr);
    for (int64_t j = threadIdx.x; j < n4; j += 4 * kArgmaxThreads) {
      float4 v[4];
#pragma unroll
      for (int u = 0; u < 4; ++u)
        if (j + u * kArgmaxThreads < n4) v[u] = x4[j + u * kArgmaxThreads];
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        const int64_t b = 4 * (j + u * kArgmaxThreads);
        if (j + u * kArgmaxThreads >= n4) break;
        if (better(v[u].x, b, bv, bi)) bv = v[u].x, bi = b;
        if (better(v[u].y, b + 1, bv, bi)) bv = v[u].y, bi = b + 1;
        if (better(v[u].z, b + 2, bv, bi)) bv = v[u].z, bi = b + 2;
        if (better(v[u].w, b + 3, bv, bi)) bv = v[u].w, bi = b + 3;
      }
    }
    head = 4 * n4;
  }
  for (int64_t i = head + threadIdx.x; i < n; i += kArgmaxThreads)
    if (better(xr[i], i, bv, bi)) bv = xr[i], bi = i;
  if (block_best(bv, bi) && threadIdx.x == 0) out[blockIdx.x] = isnan(bv) ? 0 : int32_t(bi);
}

// One row of many logits over several blocks (a vocabulary head's 128,256
// would keep one SM busy ~20 us): each block finds its chunk's (value,
// index) as argmax_kernel's threads do, then offers it as one 64-bit key,
// the value's order-preserving bits over the complement of the index (so
// equal values favour the lower index, and -0 is made +0, which compares
// equal), with atomicMax; the last block to finish writes the winner and
// resets the state for the next launch. Key 0 (no offer) is the all-NaN row.
__device__ __forceinline__ unsigned long long argmax_key(float v, int64_t i) {
  const uint32_t bits = __float_as_uint(v == 0.0f ? 0.0f : v);
  const uint32_t ordered = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return (static_cast<unsigned long long>(ordered) << 32) | (0xffffffffu - static_cast<uint32_t>(i));
}

__global__ void argmax_split_kernel(const float* x, int32_t* out, int64_t n, int64_t chunk, ArgmaxState* state) {
  pdl_enter();
  const int64_t begin = int64_t(blockIdx.x) * chunk, end = begin + chunk < n ? begin + chunk : n;
  float bv = NAN;
  int64_t bi = INT64_MAX;
  for (int64_t i = begin + threadIdx.x; i < end; i += kArgmaxThreads)
    if (better(x[i], i, bv, bi)) bv = x[i], bi = i;
  if (!block_best(bv, bi) || threadIdx.x != 0) return;
  if (!isnan(bv)) atomicMax(&state->key, argmax_key(bv, bi));
  __threadfence();
  if (atomicAdd(&state->blocks_done, 1u) != gridDim.x - 1) return;
  const unsigned long long key = atomicExch(&state->key, 0ull);
  state->blocks_done = 0;
  out[0] = key == 0 ? 0 : int32_t(0xffffffffu - static_cast<uint32_t>(key));
}

}  // namespace

void launch_softmax(const LaunchStream& s, const float* x, float* y, int64_t n_rows, int64_t n) {
  if (n_rows > 0 && n > 0) launch_kernel(s, unsigned(n_rows), kThreads, 0, softmax_kernel, x, y, n);
}

void launch_argmax(const LaunchStream& s, const float* x, int32_t* out, int64_t n_rows, int64_t n, ArgmaxState* state) {
  if (n_rows <= 0 || n <= 0) return;
  // One row of a vocabulary: chunks of 4 floats a thread, up to 132 blocks.
  constexpr int64_t kChunk = int64_t(kArgmaxThreads) * 4;
  if (state != nullptr && n_rows == 1 && n >= 4 * kChunk && n <= int64_t(UINT32_MAX)) {
    int64_t blocks = (n + kChunk - 1) / kChunk;
    if (blocks > 132) blocks = 132;
    const int64_t chunk = (n + blocks - 1) / blocks;
    launch_kernel(s, unsigned((n + chunk - 1) / chunk), kArgmaxThreads, 0, argmax_split_kernel, x, out, n, chunk, state);
    return;
  }
  launch_kernel(s, unsigned(n_rows), kArgmaxThreads, 0, argmax_kernel, x, out, n);
}

}  // namespace samepage::cuda
