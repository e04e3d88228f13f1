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
#include "backends/cuda/gemv_rows.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;  // the warp kernel's

// Warps per output column: enough warps in all to keep every SM's memory
// pipeline busy (a narrow matrix splits its rows' k among up to 8 warps,
// whose partial sums meet in shared memory); each lane keeps 4 units' loads
// in flight before it uses them (rows_dot).
template <typename P, int kM>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemv_kernel(const uint8_t* __restrict__ w, size_t row_bytes, XIn x, float* __restrict__ y, int m, int64_t n,
                int64_t n_units, int warps_per_row, bool prefetch) {
  __shared__ float partial[kWarpsPerBlock][kGemvMaxRows];
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  const int64_t j = int64_t(blockIdx.x) * (kWarpsPerBlock / warps_per_row) + warp / warps_per_row;
  const int sub = warp % warps_per_row;
  float acc[1][kM] = {};
  const uint8_t* const row[1] = {w + size_t(j < n ? j : 0) * row_bytes};
  rows_dot<P, kM, 1>(row, j < n, int64_t(sub) * 32 + lane, 32 * int64_t(warps_per_row), n_units, x, m, prefetch,
                     /*early_trigger=*/false, acc);
#pragma unroll
  for (int r = 0; r < kM; ++r) {
    if (r >= m) break;
    const float v = warp_sum(acc[0][r]);
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
    P::template add<kM>(P::load(seg, ul, x), seg_in_row * kUnits + ul, x, m, acc);
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
                       int64_t segs_per_row, int64_t rows_per_warp, int split, bool prefetch) {
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
  // With const weights (prefetch) the first stages' copies go out before
  // the wait for the previous grid (launch.h), overlapping its drain; x and
  // y, and weights some earlier kernel may write, wait for it.
  if (!prefetch) pdl_wait();
#pragma unroll
  for (int t = 0; t < kStages - 1; ++t) issue(t);
  pdl_wait();
  pdl_launch_dependents();
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

// One instantiation: its grid re-planned for as many warps as fit an SM at
// once (occupancy, asked once), so that the grid is one wave.
template <typename P, int kM, int kWarps, int kStages, bool kQuantizeX>
Status launch_staged_one(const LaunchStream& s, GemvPlan p, int warps_per_sm, int max_split, const uint8_t* w,
                         bool prefetch, const XIn& x, float* y, int64_t m, int64_t n) {
  constexpr size_t kMaxXBytes = size_t(kGemvFusedMaxX) + size_t(kGemvFusedMaxX) / 32 * 4;
  // Asked outside a stream capture only (the capture must see stream work
  // alone); until then the variant's figure stands.
  static std::atomic<int> resident{0};
  if (resident.load(std::memory_order_relaxed) == 0) {
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    int blocks = 0;
    if (cudaStreamIsCapturing(s.stream, &capturing) == cudaSuccess && capturing == cudaStreamCaptureStatusNone &&
        query_resident_blocks(gemv_staged_kernel<P, kM, kWarps, kStages, kQuantizeX>, kWarps * 32,
                              kQuantizeX ? kMaxXBytes : 0, &blocks))
      resident.store(blocks * kWarps, std::memory_order_relaxed);
  }
  const int fit = resident.load(std::memory_order_relaxed);
  if (fit > 0 && fit < warps_per_sm) warps_per_sm = fit;
  gemv_staged_grid(p, n, x.k / kGemvSegment, device_sm_count(), warps_per_sm, max_split);
  if (p.blocks > int64_t(INT32_MAX)) return err("cuda::matmul", "too many output columns");
  const size_t x_bytes = kQuantizeX ? size_t(m * x.k) + size_t(m * x.k) / 32 * 4 : 0;
  return cuda_status(launch_kernel(s, unsigned(p.blocks), kWarps * 32, x_bytes,
                                   gemv_staged_kernel<P, kM, kWarps, kStages, kQuantizeX>, w, x, y, int(m), n,
                                   x.k / kGemvSegment, p.rows_per_warp, p.warps_per_row, prefetch),
                     "cuda::matmul", "gemv launch");
}

template <typename P, int kWarps, int kStages>
Status launch_staged(const LaunchStream& s, const GemvPlan& p, int warps_per_sm, int max_split, const uint8_t* w,
                     bool prefetch, const XIn& x, float* y, int64_t m, int64_t n) {
  constexpr int kM = int(kGemvMaxRows);
  if constexpr (P::kQuant) {
    if (p.quantize_x)
      return m == 1 ? launch_staged_one<P, 1, kWarps, kStages, true>(s, p, warps_per_sm, max_split, w, prefetch, x, y, m, n)
                    : launch_staged_one<P, kM, kWarps, kStages, true>(s, p, warps_per_sm, max_split, w, prefetch, x, y, m, n);
  }
  return m == 1 ? launch_staged_one<P, 1, kWarps, kStages, false>(s, p, warps_per_sm, max_split, w, prefetch, x, y, m, n)
                : launch_staged_one<P, kM, kWarps, kStages, false>(s, p, warps_per_sm, max_split, w, prefetch, x, y, m, n);
}

template <typename P>
Status launch(const LaunchStream& s, const GemvPlan& p, int warps_per_sm, int max_split, const void* w,
              size_t row_bytes, bool prefetch, const XIn& x, float* y, int64_t m, int64_t n) {
  if (p.blocks > int64_t(INT32_MAX)) return err("cuda::matmul", "too many output columns");
  const auto* wb = static_cast<const uint8_t*>(w);
  if constexpr (P::kSegBytes > 0) {
    if (p.kernel == GemvKernel::staged) {
      if (p.warps == 8 && p.stages == 2)
        return launch_staged<P, 8, 2>(s, p, warps_per_sm, max_split, wb, prefetch, x, y, m, n);
      if (p.warps == 8 && p.stages == 4)
        return launch_staged<P, 8, 4>(s, p, warps_per_sm, max_split, wb, prefetch, x, y, m, n);
      if (p.warps == 4 && p.stages == 4)
        return launch_staged<P, 4, 4>(s, p, warps_per_sm, max_split, wb, prefetch, x, y, m, n);
      if (p.warps == 4 && p.stages == 8)
        return launch_staged<P, 4, 8>(s, p, warps_per_sm, max_split, wb, prefetch, x, y, m, n);
      return err("cuda::matmul", "gemv variant not built");
    }
  }
  // One row (decode) gets a kernel of its own: 8 accumulators a lane would
  // cost registers, and so occupancy, for nothing.
  const cudaError_t e =
      m == 1 ? launch_kernel(s, unsigned(p.blocks), kWarpsPerBlock * 32, 0, gemv_kernel<P, 1>, wb, row_bytes, x, y, 1,
                             n, x.k / P::kElems, p.warps_per_row, prefetch)
             : launch_kernel(s, unsigned(p.blocks), kWarpsPerBlock * 32, 0, gemv_kernel<P, kGemvMaxRows>, wb,
                             row_bytes, x, y, int(m), n, x.k / P::kElems, p.warps_per_row, prefetch);
  return cuda_status(e, "cuda::matmul", "gemv launch");
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

Status launch_gemv_variant(const LaunchStream& s, int variant, DType dt, const void* w, bool w_const,
                           const float* xf, const QuantizedX& xq, float* y, int64_t m, int64_t n, int64_t k) {
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
  const int sp = warps_per_sm, ms = max_split;
  switch (dt) {
    case DType_f32:
      return vec ? launch<F32Vec>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n)
                 : launch<Scalar<DType_f32>>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n);
    case DType_f16:
      return vec ? launch<Half8<false>>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n)
                 : launch<Scalar<DType_f16>>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n);
    case DType_bf16:
      return vec ? launch<Half8<true>>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n)
                 : launch<Scalar<DType_bf16>>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n);
    case DType_q8_0: return launch<Q8_0>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n);
    case DType_q4_0: return launch<Q4<false>>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n);
    case DType_q4_1: return launch<Q4<true>>(s, p, sp, ms, w, row_bytes, w_const, x, y, m, n);
    default: return err("cuda::matmul", std::string("unsupported weight dtype ") + dtype_name(dt));
  }
}

Status launch_gemv(const LaunchStream& s, DType dt, const void* w, bool w_const, const float* xf, const QuantizedX& xq,
                   float* y, int64_t m, int64_t n, int64_t k) {
  return launch_gemv_variant(s, gemv_default_variant(dt, m, n, k), dt, w, w_const, xf, xq, y, m, n, k);
}

}  // namespace samepage::cuda
