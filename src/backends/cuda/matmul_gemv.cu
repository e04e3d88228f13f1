// Batch-1 (and small-batch) GEMV: memory-bound, so every weight byte is read
// once, coalesced: one warp per output column j, its lanes walking W row j in
// consecutive "units" (16 bytes of a float row, or a quarter of a quant
// block) while reading the matching x elements (float4s, or for quant
// weights the 8-bit activation blocks of quantize_x.cu). Each lane keeps one
// partial sum per x row; a warp shuffle reduces them.
#include <cuda_runtime.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

// What a policy reads of x: the floats, or their 8-bit blocks.
struct XIn {
  const float* x;
  const int8_t* qs;
  const float* d;
  int64_t k;
};

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
  using Raw = float4;
  __device__ static Raw load(const uint8_t* row, int64_t u) { return reinterpret_cast<const float4*>(row)[u]; }
  template <int kM>
  __device__ static void add(const Raw& w, int64_t u, const XIn& xin, int m, float* acc) {
    const float* x = xin.x;
    const int64_t k = xin.k;
#pragma unroll
    for (int r = 0; r < kM; ++r)
      if (r < m) acc[r] += dot4(w, reinterpret_cast<const float4*>(x + r * k)[u]);
  }
};
template <bool kBf16>
struct Half8 {
  static constexpr int kElems = 8;
  using Raw = uint4;
  __device__ static Raw load(const uint8_t* row, int64_t u) { return reinterpret_cast<const uint4*>(row)[u]; }
  template <int kM>
  __device__ static void add(const Raw& raw, int64_t u, const XIn& xin, int m, float* acc) {
    const float* x = xin.x;
    const int64_t k = xin.k;
    const float4 w0 = kBf16 ? widen_bf16(raw.x, raw.y) : widen_f16(raw.x, raw.y);
    const float4 w1 = kBf16 ? widen_bf16(raw.z, raw.w) : widen_f16(raw.z, raw.w);
#pragma unroll
    for (int r = 0; r < kM; ++r) {
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
  using Raw = float;
  __device__ static Raw load(const uint8_t* row, int64_t u) { return load_element(kDt, row, u); }
  template <int kM>
  __device__ static void add(const Raw& w, int64_t u, const XIn& xin, int m, float* acc) {
    const float* x = xin.x;
    const int64_t k = xin.k;
    for (int r = 0; r < kM && r < m; ++r) acc[r] += w * x[r * k + u];
  }
};
// Quant blocks in quarters: unit u is quarter u % 4 of block u / 4, against
// the 8-bit activations (xq): integer dot products (dp4a), then the two
// scales, as the CPU's dot_q* do per block.
__device__ __forceinline__ uint32_t load_u32_2(const uint8_t* p) {  // 2-byte aligned
  const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
  return uint32_t(h[0]) | (uint32_t(h[1]) << 16);
}
struct Q8_0 {
  static constexpr int kElems = 8;
  struct Raw {
    int w0, w1;
    float dw;
  };
  __device__ static Raw load(const uint8_t* row, int64_t u) {
    const uint8_t* b = row + (u >> 2) * kQ8_0Bytes;
    const int s = int(u & 3);
    return {int(load_u32_2(b + 2 + 8 * s)), int(load_u32_2(b + 6 + 8 * s)), block_scale(b)};
  }
  template <int kM>
  __device__ static void add(const Raw& raw, int64_t u, const XIn& x, int m, float* acc) {
    const int s = int(u & 3);
    const int w0 = raw.w0, w1 = raw.w1;
    const float dw = raw.dw;
#pragma unroll
    for (int r = 0; r < kM; ++r) {
      if (r >= m) break;
      const int64_t at = r * x.k + (u >> 2) * 32 + 8 * s;
      const int2 q = *reinterpret_cast<const int2*>(x.qs + at);
      const int isum = __dp4a(w1, q.y, __dp4a(w0, q.x, 0));
      acc[r] += float(isum) * (dw * x.d[(r * x.k >> 5) + (u >> 2)]);
    }
  }
};
// q4: quarter s holds bytes 4s..4s+3: elements 4s..4s+3 (low nibbles) and 16+4s.. (high).
template <bool kHasMin>
struct Q4 {
  static constexpr int kElems = 8;
  struct Raw {
    uint32_t q;
    float dw, mw;
  };
  __device__ static Raw load(const uint8_t* row, int64_t u) {
    constexpr int kBytes = kHasMin ? kQ4_1Bytes : kQ4_0Bytes;
    constexpr int kQs = kHasMin ? 4 : 2;
    const uint8_t* b = row + (u >> 2) * kBytes;
    return {load_u32_2(b + kQs + 4 * int(u & 3)), block_scale(b), kHasMin ? block_scale(b, 2) : 0.0f};
  }
  template <int kM>
  __device__ static void add(const Raw& raw, int64_t u, const XIn& x, int m, float* acc) {
    const int s = int(u & 3);
    const uint32_t q = raw.q;
    const int lo = int(q & 0x0f0f0f0fu), hi = int((q >> 4) & 0x0f0f0f0fu);
    const float dw = raw.dw, mw = raw.mw;
#pragma unroll
    for (int r = 0; r < kM; ++r) {
      if (r >= m) break;
      const int8_t* xb = x.qs + r * x.k + (u >> 2) * 32;
      const int xa = *reinterpret_cast<const int*>(xb + 4 * s), xc = *reinterpret_cast<const int*>(xb + 16 + 4 * s);
      const int isum = __dp4a(hi, xc, __dp4a(lo, xa, 0));
      const int xsum = __dp4a(0x01010101, xc, __dp4a(0x01010101, xa, 0));
      const float dx = x.d[(r * x.k >> 5) + (u >> 2)];
      if (kHasMin) acc[r] += float(isum) * (dw * dx) + mw * (float(xsum) * dx);
      else acc[r] += float(isum - 8 * xsum) * (dw * dx);
    }
  }
};

// Warps per output column: enough warps in all to keep every SM's memory
// pipeline busy (a narrow matrix splits its rows' k among up to 8 warps,
// whose partial sums meet in shared memory); each lane keeps 4 units' loads
// in flight before it uses them.
template <typename P, int kM>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemv_kernel(const uint8_t* __restrict__ w, size_t row_bytes, XIn x, float* __restrict__ y, int m, int64_t n,
                int64_t n_units, int warps_per_row) {
  cudaGridDependencySynchronize();  // launched with PDL: the previous kernel's stores first (launch.h)
  __shared__ float partial[kWarpsPerBlock][kGemvMaxRows];
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  const int64_t j = int64_t(blockIdx.x) * (kWarpsPerBlock / warps_per_row) + warp / warps_per_row;
  const int sub = warp % warps_per_row;
  float acc[kM] = {};
  if (j < n) {
    const uint8_t* row = w + size_t(j) * row_bytes;
    const int64_t stride = 32 * int64_t(warps_per_row);
    int64_t u = int64_t(sub) * 32 + lane;
    for (; u + 3 * stride < n_units; u += 4 * stride) {
      const typename P::Raw r0 = P::load(row, u), r1 = P::load(row, u + stride), r2 = P::load(row, u + 2 * stride),
                            r3 = P::load(row, u + 3 * stride);
      P::template add<kM>(r0, u, x, m, acc);
      P::template add<kM>(r1, u + stride, x, m, acc);
      P::template add<kM>(r2, u + 2 * stride, x, m, acc);
      P::template add<kM>(r3, u + 3 * stride, x, m, acc);
    }
    for (; u < n_units; u += stride) P::template add<kM>(P::load(row, u), u, x, m, acc);
  }
#pragma unroll
  for (int r = 0; r < kM; ++r) {
    if (r >= m) break;
    const float v = warp_sum(acc[r]);
    if (lane == 0) partial[warp][r] = v;
  }
  __syncthreads();
  if (j < n && sub == 0 && lane < m) {
    float sum = 0.0f;
    for (int s = 0; s < warps_per_row; ++s) sum += partial[warp + s][lane];
    y[lane * n + j] = sum;
  }
}

template <typename P>
Status launch(cudaStream_t s, const void* w, size_t row_bytes, const XIn& x, float* y, int64_t m, int64_t n) {
  int warps_per_row = 1;
  while (warps_per_row < kWarpsPerBlock && n * warps_per_row < 16384) warps_per_row *= 2;
  const int64_t rows_per_block = kWarpsPerBlock / warps_per_row;
  const int64_t blocks = (n + rows_per_block - 1) / rows_per_block;
  if (blocks > int64_t(INT32_MAX)) return err("cuda::matmul", "too many output columns");
  // One row (decode) gets a kernel of its own: 8 accumulators a lane would
  // cost registers, and so occupancy, for nothing.
  if (m == 1)
    gemv_kernel<P, 1><<<unsigned(blocks), kWarpsPerBlock * 32, 0, s>>>(static_cast<const uint8_t*>(w), row_bytes, x,
                                                                       y, 1, n, x.k / P::kElems, warps_per_row);
  else
    gemv_kernel<P, kGemvMaxRows><<<unsigned(blocks), kWarpsPerBlock * 32, 0, s>>>(
        static_cast<const uint8_t*>(w), row_bytes, x, y, int(m), n, x.k / P::kElems, warps_per_row);
  return cuda_status(cudaGetLastError(), "cuda::matmul", "gemv launch");
}

}  // namespace

Status launch_gemv(cudaStream_t s, DType dt, const void* w, const float* xf, const QuantizedX& xq, float* y,
                   int64_t m, int64_t n, int64_t k) {
  const XIn x{xf, xq.qs, xq.d, k};
  if (m < 1 || m > kGemvMaxRows) return err("cuda::matmul", "gemv takes 1 to 8 rows");
  const size_t row_bytes = dtype_row_bytes(dt, k);
  // The vector paths need 16-byte aligned rows of W (and x, which the caller stages).
  const bool aligned = reinterpret_cast<uintptr_t>(w) % 16 == 0 && row_bytes % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(xf) % 16 == 0;
  switch (dt) {
    case DType_f32:
      return aligned ? launch<F32Vec>(s, w, row_bytes, x, y, m, n)
                     : launch<Scalar<DType_f32>>(s, w, row_bytes, x, y, m, n);
    case DType_f16:
      return aligned ? launch<Half8<false>>(s, w, row_bytes, x, y, m, n)
                     : launch<Scalar<DType_f16>>(s, w, row_bytes, x, y, m, n);
    case DType_bf16:
      return aligned ? launch<Half8<true>>(s, w, row_bytes, x, y, m, n)
                     : launch<Scalar<DType_bf16>>(s, w, row_bytes, x, y, m, n);
    case DType_q8_0: return launch<Q8_0>(s, w, row_bytes, x, y, m, n);
    case DType_q4_0: return launch<Q4<false>>(s, w, row_bytes, x, y, m, n);
    case DType_q4_1: return launch<Q4<true>>(s, w, row_bytes, x, y, m, n);
    default: return err("cuda::matmul", std::string("unsupported weight dtype ") + dtype_name(dt));
  }
}

}  // namespace samepage::cuda
