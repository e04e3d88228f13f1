// Batch-1 (and small-batch) GEMV: memory-bound, so every weight byte is read
// once, coalesced: one warp per output column j, its lanes walking W row j in
// consecutive "units" (16 bytes of a float row, or a quarter of a quant
// block) while reading the matching x elements as float4. Each lane keeps
// one partial sum per x row; a warp shuffle reduces them.
#include <cuda_runtime.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

__device__ __forceinline__ float dot4(float4 a, float4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }

__device__ __forceinline__ float4 widen_f16(uint32_t lo, uint32_t hi) {
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&lo));
  const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&hi));
  return make_float4(a.x, a.y, b.x, b.y);
}
__device__ __forceinline__ float4 widen_bf16(uint32_t lo, uint32_t hi) {
  return make_float4(__uint_as_float(lo << 16), __uint_as_float(lo & 0xffff0000u), __uint_as_float(hi << 16),
                     __uint_as_float(hi & 0xffff0000u));
}

// Each policy: elements per unit, and acc[r] += unit u of the row · x row r.
struct F32Vec {
  static constexpr int kElems = 4;
  __device__ static void add(const uint8_t* row, int64_t u, const float* x, int64_t k, int m, float* acc) {
    const float4 w = reinterpret_cast<const float4*>(row)[u];
#pragma unroll
    for (int r = 0; r < kGemvMaxRows; ++r)
      if (r < m) acc[r] += dot4(w, reinterpret_cast<const float4*>(x + r * k)[u]);
  }
};
template <bool kBf16>
struct Half8 {
  static constexpr int kElems = 8;
  __device__ static void add(const uint8_t* row, int64_t u, const float* x, int64_t k, int m, float* acc) {
    const uint4 raw = reinterpret_cast<const uint4*>(row)[u];
    const float4 w0 = kBf16 ? widen_bf16(raw.x, raw.y) : widen_f16(raw.x, raw.y);
    const float4 w1 = kBf16 ? widen_bf16(raw.z, raw.w) : widen_f16(raw.z, raw.w);
#pragma unroll
    for (int r = 0; r < kGemvMaxRows; ++r) {
      if (r >= m) break;
      const float4* xr = reinterpret_cast<const float4*>(x + r * k) + 2 * u;
      acc[r] += dot4(w0, xr[0]) + dot4(w1, xr[1]);
    }
  }
};
// Any float type, element by element (rows not 16-byte aligned, odd k).
template <DType kDt>
struct Scalar {
  static constexpr int kElems = 1;
  __device__ static void add(const uint8_t* row, int64_t u, const float* x, int64_t k, int m, float* acc) {
    const float w = load_element(kDt, row, u);
    for (int r = 0; r < m; ++r) acc[r] += w * x[r * k + u];
  }
};
// Quant blocks in quarters: unit u is quarter u % 4 of block u / 4.
struct Q8_0 {
  static constexpr int kElems = 8;
  __device__ static void add(const uint8_t* row, int64_t u, const float* x, int64_t k, int m, float* acc) {
    const uint8_t* b = row + (u >> 2) * kQ8_0Bytes;
    const int s = int(u & 3);
    const uint16_t* q16 = reinterpret_cast<const uint16_t*>(b + 2 + 8 * s);
    float w[8];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint16_t v = q16[i];
      w[2 * i] = float(int8_t(v & 0xff));
      w[2 * i + 1] = float(int8_t(v >> 8));
    }
    const float d = block_scale(b);
#pragma unroll
    for (int r = 0; r < kGemvMaxRows; ++r) {
      if (r >= m) break;
      const float4* xr = reinterpret_cast<const float4*>(x + r * k + (u >> 2) * 32 + 8 * s);
      const float4 a = xr[0], c = xr[1];
      acc[r] += d * (w[0] * a.x + w[1] * a.y + w[2] * a.z + w[3] * a.w + w[4] * c.x + w[5] * c.y + w[6] * c.z +
                     w[7] * c.w);
    }
  }
};
// q4: quarter s holds bytes 4s..4s+3: elements 4s..4s+3 (low nibbles) and 16+4s.. (high).
template <bool kHasMin>
struct Q4 {
  static constexpr int kElems = 8;
  __device__ static void add(const uint8_t* row, int64_t u, const float* x, int64_t k, int m, float* acc) {
    constexpr int kBytes = kHasMin ? kQ4_1Bytes : kQ4_0Bytes;
    constexpr int kQs = kHasMin ? 4 : 2;
    const uint8_t* b = row + (u >> 2) * kBytes;
    const int s = int(u & 3);
    const uint16_t* q16 = reinterpret_cast<const uint16_t*>(b + kQs + 4 * s);
    const uint32_t q = uint32_t(q16[0]) | (uint32_t(q16[1]) << 16);
    const float off = kHasMin ? 0.0f : -8.0f;
    float lo[4], hi[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      lo[i] = float((q >> (8 * i)) & 15) + off;
      hi[i] = float((q >> (8 * i + 4)) & 15) + off;
    }
    const float d = block_scale(b);
    const float mn = kHasMin ? block_scale(b, 2) : 0.0f;
#pragma unroll
    for (int r = 0; r < kGemvMaxRows; ++r) {
      if (r >= m) break;
      const float* xb = x + r * k + (u >> 2) * 32;
      const float4 a = reinterpret_cast<const float4*>(xb)[s];
      const float4 c = reinterpret_cast<const float4*>(xb + 16)[s];
      float sum = lo[0] * a.x + lo[1] * a.y + lo[2] * a.z + lo[3] * a.w + hi[0] * c.x + hi[1] * c.y + hi[2] * c.z +
                  hi[3] * c.w;
      acc[r] += d * sum;
      if (kHasMin) acc[r] += mn * (a.x + a.y + a.z + a.w + c.x + c.y + c.z + c.w);
    }
  }
};

template <typename P>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemv_kernel(const uint8_t* __restrict__ w, size_t row_bytes, const float* __restrict__ x, float* __restrict__ y,
                int m, int64_t n, int64_t k, int64_t n_units) {
  const int64_t j = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x & 31;
  if (j >= n) return;
  const uint8_t* row = w + size_t(j) * row_bytes;
  float acc[kGemvMaxRows] = {};
  for (int64_t u = lane; u < n_units; u += 32) P::add(row, u, x, k, m, acc);
#pragma unroll
  for (int r = 0; r < kGemvMaxRows; ++r) {
    if (r >= m) break;
    const float v = warp_sum(acc[r]);
    if (lane == 0) y[r * n + j] = v;
  }
}

template <typename P>
Status launch(cudaStream_t s, const void* w, size_t row_bytes, const float* x, float* y, int64_t m, int64_t n,
              int64_t k) {
  const int64_t blocks = (n + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (blocks > int64_t(INT32_MAX)) return err("cuda::matmul", "too many output columns");
  gemv_kernel<P><<<unsigned(blocks), kWarpsPerBlock * 32, 0, s>>>(static_cast<const uint8_t*>(w), row_bytes, x, y,
                                                                  int(m), n, k, k / P::kElems);
  return cuda_status(cudaGetLastError(), "cuda::matmul", "gemv launch");
}

}  // namespace

Status launch_gemv(cudaStream_t s, DType dt, const void* w, const float* x, float* y, int64_t m, int64_t n,
                   int64_t k) {
  if (m < 1 || m > kGemvMaxRows) return err("cuda::matmul", "gemv takes 1 to 8 rows");
  const size_t row_bytes = dtype_row_bytes(dt, k);
  // The vector paths need 16-byte aligned rows of W (and x, which the caller stages).
  const bool aligned = reinterpret_cast<uintptr_t>(w) % 16 == 0 && row_bytes % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(x) % 16 == 0;
  switch (dt) {
    case DType_f32:
      return aligned ? launch<F32Vec>(s, w, row_bytes, x, y, m, n, k)
                     : launch<Scalar<DType_f32>>(s, w, row_bytes, x, y, m, n, k);
    case DType_f16:
      return aligned ? launch<Half8<false>>(s, w, row_bytes, x, y, m, n, k)
                     : launch<Scalar<DType_f16>>(s, w, row_bytes, x, y, m, n, k);
    case DType_bf16:
      return aligned ? launch<Half8<true>>(s, w, row_bytes, x, y, m, n, k)
                     : launch<Scalar<DType_bf16>>(s, w, row_bytes, x, y, m, n, k);
    case DType_q8_0: return launch<Q8_0>(s, w, row_bytes, x, y, m, n, k);
    case DType_q4_0: return launch<Q4<false>>(s, w, row_bytes, x, y, m, n, k);
    case DType_q4_1: return launch<Q4<true>>(s, w, row_bytes, x, y, m, n, k);
    default: return err("cuda::matmul", std::string("unsupported weight dtype ") + dtype_name(dt));
  }
}

}  // namespace samepage::cuda
