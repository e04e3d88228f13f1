// Device code shared by the batch-1 GEMV kernels (matmul_gemv.cu) and the
// grouped ones (gemv_group.cu): how a lane reads a weight row in "units"
// (16 bytes of a float row, or a quarter of a quant block) and adds unit ·
// x into one partial sum per x row, and a lane's walk over its units of a
// row. Device code: included by .cu files only.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "backends/cuda/device_dtype.h"
#include "backends/cuda/launch.h"

namespace samepage::cuda {

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
  static constexpr int kSegBytes = 1024;
  static constexpr bool kQuant = false;
  using Raw = float4;
  __device__ static Raw load(const uint8_t* row, int64_t u, const XIn&) { return reinterpret_cast<const float4*>(row)[u]; }
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
  static constexpr int kSegBytes = 512;
  static constexpr bool kQuant = false;
  using Raw = uint4;
  __device__ static Raw load(const uint8_t* row, int64_t u, const XIn&) { return reinterpret_cast<const uint4*>(row)[u]; }
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
  static constexpr int kSegBytes = 0;  // never staged
  using Raw = float;
  __device__ static Raw load(const uint8_t* row, int64_t u, const XIn&) { return load_element(kDt, row, u); }
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
  static constexpr int kSegBytes = 8 * kQ8_0Bytes;
  static constexpr bool kQuant = true;
  struct Raw {
    int w0, w1;
    float dw;
  };
  __device__ static Raw load(const uint8_t* row, int64_t u, const XIn&) {
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
  static constexpr int kSegBytes = 8 * (kHasMin ? kQ4_1Bytes : kQ4_0Bytes);
  static constexpr bool kQuant = true;
  struct Raw {
    uint32_t q;
    float dw, mw;
  };
  __device__ static Raw load(const uint8_t* row, int64_t u, const XIn&) {
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

// Quant weights in the GEMV layout (gemv_layout.h): a row is its blocks'
// quants (16 bytes a block, q8_0 32), then their f16 scales (q4_1: then the
// mins); unit u is block u, whose quants a lane reads as 16-byte vectors
// against x's 8-bit block (quantize_x.cu) read the same way. One integer
// sum a block, then the scales, as the CPU's dot_q* do.
template <DType kDt>
struct PackedQ {
  static constexpr int kElems = 32;
  static constexpr int kSegBytes = 0;  // never staged
  static constexpr bool kQuant = true;
  static constexpr bool kQ8 = kDt == DType_q8_0, kMin = kDt == DType_q4_1;
  static constexpr int kQsBytes = kQ8 ? 32 : 16;
  struct Raw {
    uint4 q0, q1;  // q1: q8_0's second half
    float d, mn;
  };
  __device__ static Raw load(const uint8_t* row, int64_t u, const XIn& x) {
    const int64_t nb = x.k / 32;
    const uint4* q = reinterpret_cast<const uint4*>(row + u * kQsBytes);
    const __half* scales = reinterpret_cast<const __half*>(row + nb * kQsBytes);
    Raw r;
    r.q0 = q[0];
    r.q1 = kQ8 ? q[1] : make_uint4(0, 0, 0, 0);
    r.d = __half2float(scales[u]);
    r.mn = kMin ? __half2float(scales[nb + u]) : 0.0f;
    return r;
  }
  // The sum of x's 8-bit block (q4: the offset and min terms need it),
  // which depends on x alone: a kernel that keeps x may take it once.
  __device__ static int x_sum(const int4& xa, const int4& xc) {
    int xsum = 0;
    xsum = __dp4a(0x01010101, xa.x, xsum), xsum = __dp4a(0x01010101, xa.y, xsum);
    xsum = __dp4a(0x01010101, xa.z, xsum), xsum = __dp4a(0x01010101, xa.w, xsum);
    xsum = __dp4a(0x01010101, xc.x, xsum), xsum = __dp4a(0x01010101, xc.y, xsum);
    xsum = __dp4a(0x01010101, xc.z, xsum), xsum = __dp4a(0x01010101, xc.w, xsum);
    return xsum;
  }
  // acc + block w · x's block (xa, xc: its 32 quants, dx its scale, xsum =
  // x_sum), each rounding spelled out, so that every kernel that calls it
  // gets the same bits whatever the compiler would fuse around it.
  __device__ static float dot_add(float acc, const Raw& w, const int4& xa, const int4& xc, float dx, int xsum) {
    int isum = 0;
    if constexpr (kQ8) {
      isum = __dp4a(int(w.q0.x), xa.x, isum), isum = __dp4a(int(w.q0.y), xa.y, isum);
      isum = __dp4a(int(w.q0.z), xa.z, isum), isum = __dp4a(int(w.q0.w), xa.w, isum);
      isum = __dp4a(int(w.q1.x), xc.x, isum), isum = __dp4a(int(w.q1.y), xc.y, isum);
      isum = __dp4a(int(w.q1.z), xc.z, isum), isum = __dp4a(int(w.q1.w), xc.w, isum);
      return __fmaf_rn(float(isum), __fmul_rn(w.d, dx), acc);
    } else {
      // Byte j of the quants: element j (low nibble) and j + 16 (high).
      constexpr uint32_t kLo = 0x0f0f0f0fu;
      isum = __dp4a(int(w.q0.x & kLo), xa.x, isum), isum = __dp4a(int(w.q0.y & kLo), xa.y, isum);
      isum = __dp4a(int(w.q0.z & kLo), xa.z, isum), isum = __dp4a(int(w.q0.w & kLo), xa.w, isum);
      isum = __dp4a(int((w.q0.x >> 4) & kLo), xc.x, isum), isum = __dp4a(int((w.q0.y >> 4) & kLo), xc.y, isum);
      isum = __dp4a(int((w.q0.z >> 4) & kLo), xc.z, isum), isum = __dp4a(int((w.q0.w >> 4) & kLo), xc.w, isum);
      if constexpr (kMin)
        return __fadd_rn(acc, __fmaf_rn(float(isum), __fmul_rn(w.d, dx), __fmul_rn(w.mn, __fmul_rn(float(xsum), dx))));
      else return __fmaf_rn(float(isum - 8 * xsum), __fmul_rn(w.d, dx), acc);
    }
  }
  template <int kM>
  __device__ static void add(const Raw& w, int64_t u, const XIn& x, int m, float* acc) {
#pragma unroll
    for (int r = 0; r < kM; ++r) {
      if (r >= m) break;
      const int4* xb = reinterpret_cast<const int4*>(x.qs + r * x.k + u * 32);
      const int4 xa = xb[0], xc = xb[1];
      acc[r] = dot_add(acc[r], w, xa, xc, x.d[(r * x.k >> 5) + u], kQ8 ? 0 : x_sum(xa, xc));
    }
  }
};

// A lane's units u, u + stride, ... (< n_units) of kRows weight rows that
// share x: acc[r][i] += row r · x row i, in that order of units whatever
// kRows and kBatch are (a row's sum does not depend on what it is grouped
// with). Loads go out kBatch units a row at a time before they are used.
// It passes pdl_wait() once, as every thread of the kernel must: with
// prefetch (W const: written by no kernel) the first batch's loads go out
// before it, so they overlap the previous kernel. It lets the next kernel
// start after its wait, or with early_trigger right after those loads
// (launch.h: legal anywhere; worth it for a grid of one wave,
// gemv_group.cu). valid false: a lane with no row, which only waits.
template <typename P, int kM, int kRows, int kBatch = 4>
__device__ __forceinline__ void rows_dot(const uint8_t* const (&rows)[kRows], bool valid, int64_t u, int64_t stride,
                                         int64_t n_units, const XIn& x, int m, bool prefetch, bool early_trigger,
                                         float (&acc)[kRows][kM]) {
  typename P::Raw raw[kRows][kBatch];
  auto load_batch = [&] {
#pragma unroll
    for (int i = 0; i < kBatch; ++i)
      if (u + i * stride < n_units)
#pragma unroll
        for (int r = 0; r < kRows; ++r) raw[r][i] = P::load(rows[r], u + i * stride, x);
  };
  if (prefetch && valid) load_batch();
  if (early_trigger) pdl_launch_dependents();
  pdl_wait();
  if (!early_trigger) pdl_launch_dependents();
  if (!valid) return;
  if (!prefetch) load_batch();
  while (u < n_units) {
#pragma unroll
    for (int i = 0; i < kBatch; ++i)
      if (u + i * stride < n_units)
#pragma unroll
        for (int r = 0; r < kRows; ++r) P::template add<kM>(raw[r][i], u + i * stride, x, m, acc[r]);
    u += kBatch * stride;
    if (u < n_units) load_batch();
  }
}

}  // namespace samepage::cuda
