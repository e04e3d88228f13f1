// Batch-1 (and small-batch) GEMV: memory-bound, so every weight byte is read
// once, coalesced. Lanes work in "units" (16 bytes of a float row, or a
// quarter of a quant block) against the matching x elements (float4s, or for
// quant weights the 8-bit activation blocks of quantize_x.cu); each lane
// keeps one partial sum per x row and a warp shuffle reduces them. Two
// kernels (gemv_plan.h picks one): the warp kernel, each lane loading its
// units straight from HBM (any k, any alignment), and the staged kernel,
// each warp streaming whole rows through shared memory with 16-byte cp.async
// copies, so the 18/20/34-byte quant blocks (2-byte aligned) are read from
// HBM as wide, coalesced loads and decoded from shared memory.
#include <cuda_runtime.h>

#include <atomic>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/gemv_plan.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;  // the warp kernel's

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
  static constexpr int kSegBytes = 512;
  static constexpr bool kQuant = false;
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
  static constexpr int kSegBytes = 0;  // never staged
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
  static constexpr int kSegBytes = 8 * kQ8_0Bytes;
  static constexpr bool kQuant = true;
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
  static constexpr int kSegBytes = 8 * (kHasMin ? kQ4_1Bytes : kQ4_0Bytes);
  static constexpr bool kQuant = true;
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

// --- The staged kernel ----------------------------------------------------

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const unsigned at = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(at), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// One 256-element segment (in shared memory) of the row, segment seg_in_row
// of it: lane l takes units l, l + 32, ... of the segment.
template <typename P, int kM>
__device__ __forceinline__ void add_segment(const uint8_t* seg, int64_t seg_in_row, int lane, const XIn& x, int m,
                                            float* acc) {
  constexpr int kUnits = int(kGemvSegment) / P::kElems;
#pragma unroll
  for (int i = 0; i < kUnits / 32; ++i) {
    const int ul = lane + 32 * i;
    P::template add<kM>(P::load(seg, ul), seg_in_row * kUnits + ul, x, m, acc);
  }
}

// Warp g of the grid owns rows [g·rows_per_warp, +rows_per_warp) of W, or
// with split > 1 a 1/split share of the segments of row g / split
// (gemv_staged_work): its bytes are one 16-byte aligned run (rows are whole
// segments), copied by the warp's lanes in stages of kSegs segments,
// kStages - 1 stages ahead of the one being decoded. Warps share no stages,
// so __syncwarp is the barrier there; a row's sum is one warp's, or with
// split > 1 its warps' partials added in shared memory in a fixed order
// (deterministic either way, no atomics).
// kQuantizeX: the CTA first rounds x (m·k <= kGemvFusedMaxX) to 8-bit blocks
// in dynamic shared memory (qs, then the scales), while the first stages
// are in flight, instead of reading quantize_x's output.
template <typename P, int kM, int kWarps, int kStages, bool kQuantizeX>
__global__ void __launch_bounds__(kWarps * 32)
    gemv_staged_kernel(const uint8_t* __restrict__ w, XIn x, float* __restrict__ y, int m, int64_t n,
                       int64_t segs_per_row, int64_t rows_per_warp, int split) {
  constexpr int kSegs = P::kSegBytes >= 1024 ? 1 : 1024 / P::kSegBytes;  // gemv_segments_per_stage
  constexpr int kStageBytes = kSegs * P::kSegBytes, kChunks = kStageBytes / 16;
  static_assert(kStageBytes % 16 == 0, "stages are whole 16-byte chunks");
  __shared__ __align__(16) uint8_t ring[kWarps][kStages][kStageBytes];
  __shared__ float partial[kWarps][kM];
  const int warp = int(threadIdx.x / 32), lane = int(threadIdx.x & 31);
  const GemvStagedWork work =
      gemv_staged_work(int64_t(blockIdx.x) * kWarps + warp, n, segs_per_row, rows_per_warp, split);
  const int64_t j0 = work.j0, s0 = work.s0, s1 = work.s1;
  const int64_t n_segs = (work.j1 - j0) * (s1 - s0);  // 0 for a warp past the end
  const int64_t n_bytes = n_segs * P::kSegBytes;
  const uint8_t* src = w + (j0 * segs_per_row + s0) * P::kSegBytes;
  const int64_t n_stages = (n_segs + kSegs - 1) / kSegs;
  auto issue = [&](int64_t t) {
    if (t < n_stages) {
      uint8_t* dst = ring[warp][t % kStages];
      const uint8_t* g = src + t * kStageBytes;
      const int64_t left = n_bytes - t * kStageBytes;
      const int chunks = left >= kStageBytes ? kChunks : int(left / 16);
      for (int c = lane; c < chunks; c += 32) cp_async16(dst + 16 * c, g + 16 * c);
    }
    cp_async_commit();  // an empty group past the end keeps the wait count uniform
  };
#pragma unroll
  for (int t = 0; t < kStages - 1; ++t) issue(t);
  // x and y wait for the previous grid (a no-op unless launched with PDL,
  // launch.h); the first weight copies do not. launch_gemv launches without
  // PDL today; a PDL launch is sound only for weights no earlier kernel of
  // the stream writes (const, resident weights), and would then overlap
  // their HBM latency with the previous kernel's drain.
  cudaGridDependencySynchronize();
  if constexpr (kQuantizeX) {
    extern __shared__ __align__(16) uint8_t x_shared[];
    const int64_t n_x = int64_t(m) * x.k, n_blocks = n_x / 32;
    auto* qs = reinterpret_cast<int8_t*>(x_shared);
    auto* d = reinterpret_cast<float*>(x_shared + n_x);  // n_x is whole 256s: aligned
    // Warp w takes blocks w, w + kWarps, ...: kBatch loads in flight before the shuffles.
    constexpr int kBatch = 8;
    for (int64_t b0 = warp; b0 < n_blocks; b0 += int64_t(kWarps) * kBatch) {
      float v[kBatch];
#pragma unroll
      for (int i = 0; i < kBatch; ++i) {
        const int64_t b = b0 + int64_t(i) * kWarps;
        v[i] = b < n_blocks ? x.x[b * 32 + lane] : 0.0f;
      }
#pragma unroll
      for (int i = 0; i < kBatch; ++i) {
        const int64_t b = b0 + int64_t(i) * kWarps;
        if (b >= n_blocks) break;  // warp-uniform
        float scale;
        const float q = quantize_block_lane(v[i], &scale);
        qs[b * 32 + lane] = int8_t(q);
        if (lane == 0) d[b] = scale;
      }
    }
    __syncthreads();
    x.qs = qs;
    x.d = d;
  }
  float acc[kM] = {};
  int64_t row = j0, seg_in_row = s0;  // a warp past the end runs no stage
  for (int64_t t = 0; t < n_stages; ++t) {
    issue(t + kStages - 1);
    cp_async_wait<kStages - 1>();  // stage t's copies (this lane's) have landed
    __syncwarp();                  // and every lane's are visible
    const uint8_t* stage = ring[warp][t % kStages];
    const int64_t segs_left = n_segs - t * kSegs;
#pragma unroll
    for (int s = 0; s < kSegs; ++s) {
      if (s >= segs_left) break;
      add_segment<P, kM>(stage + s * P::kSegBytes, seg_in_row, lane, x, m, acc);
      if (++seg_in_row == s1) {
#pragma unroll
        for (int r = 0; r < kM; ++r) {
          if (r >= m) break;
          const float v = warp_sum(acc[r]);
          if (lane == 0) {
            if (split == 1) y[r * n + row] = v;
            else partial[warp][r] = v;  // the warp's one row
          }
          acc[r] = 0.0f;
        }
        ++row;
        seg_in_row = s0;
      }
    }
    __syncwarp();  // the stage is read before issue() refills it
  }
  if (split > 1) {  // uniform over the grid: every warp of the CTA gets here
    __syncthreads();
    if (j0 < n && warp % split == 0 && lane < m) {
      float sum = 0.0f;
      for (int i = 0; i < split; ++i) sum += partial[warp + i][lane];
      y[lane * n + j0] = sum;
    }
  }
}

// SMs of the current device, asked once a device (launches may be captured).
int device_sm_count() {
  static std::atomic<int> counts[64];
  int device = 0, count = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return 1;
  if (device >= 0 && device < 64 && (count = counts[device].load(std::memory_order_relaxed)) > 0) return count;
  if (cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || count < 1) return 1;
  if (device >= 0 && device < 64) counts[device].store(count, std::memory_order_relaxed);
  return count;
}

// One instantiation: its grid re-planned for as many warps as fit an SM at
// once (occupancy, asked once), so that the grid is one wave.
template <typename P, int kM, int kWarps, int kStages, bool kQuantizeX>
Status launch_staged_one(cudaStream_t s, GemvPlan p, int warps_per_sm, int max_split, const uint8_t* w,
                         const XIn& x, float* y, int64_t m, int64_t n) {
  constexpr size_t kMaxXBytes = size_t(kGemvFusedMaxX) + size_t(kGemvFusedMaxX) / 32 * 4;
  // Asked outside a stream capture only (the capture must see stream work
  // alone); until then the variant's figure stands.
  static std::atomic<int> resident{0};
  if (resident.load(std::memory_order_relaxed) == 0) {
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    int blocks = 0;
    if (cudaStreamIsCapturing(s, &capturing) == cudaSuccess && capturing == cudaStreamCaptureStatusNone &&
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, gemv_staged_kernel<P, kM, kWarps, kStages, kQuantizeX>,
                                                      kWarps * 32, kQuantizeX ? kMaxXBytes : 0) == cudaSuccess &&
        blocks > 0)
      resident.store(blocks * kWarps, std::memory_order_relaxed);
  }
  const int fit = resident.load(std::memory_order_relaxed);
  if (fit > 0 && fit < warps_per_sm) warps_per_sm = fit;
  gemv_staged_grid(p, n, x.k / kGemvSegment, device_sm_count(), warps_per_sm, max_split);
  if (p.blocks > int64_t(INT32_MAX)) return err("cuda::matmul", "too many output columns");
  const size_t x_bytes = kQuantizeX ? size_t(m * x.k) + size_t(m * x.k) / 32 * 4 : 0;
  gemv_staged_kernel<P, kM, kWarps, kStages, kQuantizeX><<<unsigned(p.blocks), kWarps * 32, x_bytes, s>>>(
      w, x, y, int(m), n, x.k / kGemvSegment, p.rows_per_warp, p.warps_per_row);
  return cuda_status(cudaGetLastError(), "cuda::matmul", "gemv launch");
}

template <typename P, int kWarps, int kStages>
Status launch_staged(cudaStream_t s, const GemvPlan& p, int warps_per_sm, int max_split, const uint8_t* w,
                     const XIn& x, float* y, int64_t m, int64_t n) {
  constexpr int kM = int(kGemvMaxRows);
  if constexpr (P::kQuant) {
    if (p.quantize_x)
      return m == 1 ? launch_staged_one<P, 1, kWarps, kStages, true>(s, p, warps_per_sm, max_split, w, x, y, m, n)
                    : launch_staged_one<P, kM, kWarps, kStages, true>(s, p, warps_per_sm, max_split, w, x, y, m, n);
  }
  return m == 1 ? launch_staged_one<P, 1, kWarps, kStages, false>(s, p, warps_per_sm, max_split, w, x, y, m, n)
                : launch_staged_one<P, kM, kWarps, kStages, false>(s, p, warps_per_sm, max_split, w, x, y, m, n);
}

template <typename P>
Status launch(cudaStream_t s, const GemvPlan& p, int warps_per_sm, int max_split, const void* w, size_t row_bytes,
              const XIn& x, float* y, int64_t m, int64_t n) {
  if (p.blocks > int64_t(INT32_MAX)) return err("cuda::matmul", "too many output columns");
  const auto* wb = static_cast<const uint8_t*>(w);
  if constexpr (P::kSegBytes > 0) {
    if (p.kernel == GemvKernel::staged) {
    if (p.warps == 8 && p.stages == 2) return launch_staged<P, 8, 2>(s, p, warps_per_sm, max_split, wb, x, y, m, n);
    if (p.warps == 8 && p.stages == 4) return launch_staged<P, 8, 4>(s, p, warps_per_sm, max_split, wb, x, y, m, n);
    if (p.warps == 4 && p.stages == 4) return launch_staged<P, 4, 4>(s, p, warps_per_sm, max_split, wb, x, y, m, n);
    if (p.warps == 4 && p.stages == 8) return launch_staged<P, 4, 8>(s, p, warps_per_sm, max_split, wb, x, y, m, n);
    return err("cuda::matmul", "gemv variant not built");
    }
  }
  // One row (decode) gets a kernel of its own: 8 accumulators a lane would
  // cost registers, and so occupancy, for nothing.
  if (m == 1)
    gemv_kernel<P, 1><<<unsigned(p.blocks), kWarpsPerBlock * 32, 0, s>>>(wb, row_bytes, x, y, 1, n,
                                                                         x.k / P::kElems, p.warps_per_row);
  else
    gemv_kernel<P, kGemvMaxRows><<<unsigned(p.blocks), kWarpsPerBlock * 32, 0, s>>>(
        wb, row_bytes, x, y, int(m), n, x.k / P::kElems, p.warps_per_row);
  return cuda_status(cudaGetLastError(), "cuda::matmul", "gemv launch");
}

}  // namespace

GemvPlan gemv_plan_for(int variant, DType dt, int64_t m, int64_t n, int64_t k, const void* w, const float* xf) {
  return plan_gemv(kGemvVariants[variant], dt, m, n, k, reinterpret_cast<uintptr_t>(w),
                   reinterpret_cast<uintptr_t>(xf), device_sm_count());
}

bool gemv_quantizes_x_variant(int variant, DType dt, int64_t m, int64_t n, int64_t k, const void* w, const float* x) {
  if (variant < 0 || variant >= kGemvVariantCount || m < 1 || m > kGemvMaxRows) return false;
  return gemv_plan_for(variant, dt, m, n, k, w, x).quantize_x;
}
bool gemv_quantizes_x(DType dt, int64_t m, int64_t n, int64_t k, const void* w, const float* x) {
  return gemv_quantizes_x_variant(gemv_default_variant(dt, m, n, k), dt, m, n, k, w, x);
}

Status launch_gemv_variant(cudaStream_t s, int variant, DType dt, const void* w, const float* xf, const QuantizedX& xq,
                           float* y, int64_t m, int64_t n, int64_t k) {
  const XIn x{xf, xq.qs, xq.d, k};
  if (m < 1 || m > kGemvMaxRows) return err("cuda::matmul", "gemv takes 1 to 8 rows");
  if (variant < 0 || variant >= kGemvVariantCount) return err("cuda::matmul", "no such gemv variant");
  const size_t row_bytes = dtype_row_bytes(dt, k);
  const GemvPlan p = gemv_plan_for(variant, dt, m, n, k, w, xf);
  if (dtype_is_quantized(dt) && !p.quantize_x && (xq.qs == nullptr || xq.d == nullptr))
    return err("cuda::matmul", "quant gemv without quantized activations");
  const int warps_per_sm = kGemvVariants[variant].warps_per_sm, max_split = kGemvVariants[variant].max_split;
  // The warp kernel's vector paths need 16-byte aligned rows of W (and x, which the caller stages).
  const bool aligned = reinterpret_cast<uintptr_t>(w) % 16 == 0 && row_bytes % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(xf) % 16 == 0;
  const bool vec = aligned || p.kernel == GemvKernel::staged;
  switch (dt) {
    case DType_f32:
      return vec ? launch<F32Vec>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n)
                 : launch<Scalar<DType_f32>>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n);
    case DType_f16:
      return vec ? launch<Half8<false>>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n)
                 : launch<Scalar<DType_f16>>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n);
    case DType_bf16:
      return vec ? launch<Half8<true>>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n)
                 : launch<Scalar<DType_bf16>>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n);
    case DType_q8_0: return launch<Q8_0>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n);
    case DType_q4_0: return launch<Q4<false>>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n);
    case DType_q4_1: return launch<Q4<true>>(s, p, warps_per_sm, max_split, w, row_bytes, x, y, m, n);
    default: return err("cuda::matmul", std::string("unsupported weight dtype ") + dtype_name(dt));
  }
}

Status launch_gemv(cudaStream_t s, DType dt, const void* w, const float* xf, const QuantizedX& xq, float* y,
                   int64_t m, int64_t n, int64_t k) {
  return launch_gemv_variant(s, gemv_default_variant(dt, m, n, k), dt, w, xf, xq, y, m, n, k);
}

}  // namespace samepage::cuda
