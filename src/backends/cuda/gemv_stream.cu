// The streamed batch-1 GEMV (gemv_stream.h). A CTA an SM, nine warps: the
// first lane of the last warp issues the bulk copies, a stage of 8 or 16
// whole rows at a time (rows of the GEMV layout are contiguous, so a stage
// is one copy), round the ring; the other eight warps each take one or two
// rows of every stage that lands, with the lane's share of x held in
// registers for the whole product. Two barriers a stage: "full" (the
// copy's bytes landed) and "empty" (every warp is done reading it, so the
// next copy may overwrite it).
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "backends/cuda/bulk_copy.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/gemv_layout.h"
#include "backends/cuda/gemv_rows.h"
#include "backends/cuda/gemv_stream.h"

namespace samepage::cuda {
namespace {

constexpr int kConsumerWarps = 8;
constexpr int kThreads = (kConsumerWarps + 1) * 32;
constexpr int kMaxStages = 32;
// Dynamic shared memory: the full and empty barriers (kMaxStages each), then the stages.
constexpr uint32_t kBarrierBytes = 2 * kMaxStages * sizeof(uint64_t);
static_assert(kBarrierBytes % 128 == 0, "stages start 128-byte aligned");
// What a CTA may take in all (under the H200's 227 KiB a block).
constexpr uint64_t kMaxSharedBytes = 200 * 1024;

// kU: units (quant blocks) a lane takes of a row, lane + 32 j for j < kU;
// kRowsPerWarp: rows of each stage a warp takes.
template <DType kDt, int kU, int kRowsPerWarp>
__global__ void __launch_bounds__(kThreads, 1)
    gemv_stream_kernel(const uint8_t* w, uint32_t row_bytes, int64_t n, int64_t nb, const int8_t* xqs, const float* xd,
                       float* y, int stages, bool prefetch) {
  using P = PackedQ<kDt>;
  constexpr int kRows = kConsumerWarps * kRowsPerWarp;  // a stage's
  extern __shared__ __align__(128) uint8_t shared[];
  uint64_t* full = reinterpret_cast<uint64_t*>(shared);
  uint64_t* empty = full + kMaxStages;
  uint8_t* ring = shared + kBarrierBytes;
  const size_t stage_bytes = size_t(kRows) * row_bytes;
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  const int64_t n_chunks = (n + kRows - 1) / kRows;
  if (threadIdx.x == 0) {
    for (int s = 0; s < stages; ++s) {
      barrier_init(&full[s], 1);
      barrier_init(&empty[s], kConsumerWarps);
    }
    fence_barrier_init();
  }
  __syncthreads();

  if (warp == kConsumerWarps) {
    if (lane != 0) return;
    // Copy i of this CTA: chunk blockIdx.x + i · gridDim.x into stage i % stages.
    int64_t i = 0, chunk = blockIdx.x;
    auto issue = [&] {
      const int s = int(i % stages);
      const int64_t rows = n - chunk * kRows < kRows ? n - chunk * kRows : kRows;
      const uint32_t bytes = uint32_t(rows) * row_bytes;
      barrier_arrive_expect_bytes(&full[s], bytes);
      bulk_copy_to_shared(ring + size_t(s) * stage_bytes, w + size_t(chunk) * stage_bytes, bytes, &full[s]);
    };
    if (prefetch)  // W const: the ring fills while the previous kernel drains
      for (; i < stages && chunk < n_chunks; ++i, chunk += gridDim.x) issue();
    pdl_wait();
    pdl_launch_dependents();
    for (; chunk < n_chunks; ++i, chunk += gridDim.x) {
      if (i >= stages) barrier_wait(&empty[i % stages], uint32_t((i / stages - 1) & 1));
      issue();
    }
    return;
  }

  pdl_wait();  // x is the previous kernel's
  pdl_launch_dependents();
  int4 xa[kU], xc[kU];
  float dx[kU];
  int xsum[kU];
#pragma unroll
  for (int j = 0; j < kU; ++j) {
    const int64_t u = lane + 32 * j;
    xa[j] = xc[j] = make_int4(0, 0, 0, 0);
    dx[j] = 0.0f;
    xsum[j] = 0;
    if (u < nb) {
      const int4* xb = reinterpret_cast<const int4*>(xqs + u * 32);
      xa[j] = xb[0], xc[j] = xb[1];
      dx[j] = xd[u];
      xsum[j] = P::x_sum(xa[j], xc[j]);
    }
  }
  const XIn layout{nullptr, nullptr, nullptr, nb * 32};  // PackedQ::load finds a row's scales by k
  int64_t i = 0;
  for (int64_t chunk = blockIdx.x; chunk < n_chunks; ++i, chunk += gridDim.x) {
    const int s = int(i % stages);
    barrier_wait(&full[s], uint32_t((i / stages) & 1));
    const uint8_t* stage = ring + size_t(s) * stage_bytes;
    const int64_t first = chunk * kRows + warp * kRowsPerWarp;  // the warp's first row
    float acc[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      acc[r] = 0.0f;
      if (first + r >= n) continue;  // past the last row: bytes no copy wrote
      const uint8_t* row = stage + size_t(warp * kRowsPerWarp + r) * row_bytes;
#pragma unroll
      for (int j = 0; j < kU; ++j) {
        const int64_t u = lane + 32 * j;
        if (u < nb) acc[r] = P::dot_add(acc[r], P::load(row, u, layout), xa[j], xc[j], dx[j], xsum[j]);
      }
    }
    __syncwarp();
    if (lane == 0) barrier_arrive(&empty[s]);  // the stage may be overwritten
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)  // warp_sum, the rows' shuffles interleaved
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], o);
    if (lane == 0)
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r)
        if (first + r < n) y[first + r] = acc[r];
  }
}

// A stage's rows: k <= 2,048 two rows a warp, else one.
constexpr int rows_per_warp(int lane_blocks) { return lane_blocks <= 2 ? 2 : 1; }
// The widest rows the kernel takes (q8_0, k = 8,192: 8 rows a stage) fit two stages.
static_assert(kBarrierBytes + 2 * kConsumerWarps * rows_per_warp(8) * gemv_layout_row_bytes(DType_q8_0, 8192) <=
                  kMaxSharedBytes,
              "two stages of any row gemv_stream_fits takes");

int lane_blocks(int64_t nb) { return nb <= 32 ? 1 : nb <= 64 ? 2 : nb <= 128 ? 4 : 8; }
uint64_t ring_stage_bytes(DType dt, int64_t k) {
  return uint64_t(kConsumerWarps) * rows_per_warp(lane_blocks(k / 32)) * gemv_layout_row_bytes(dt, k);
}
int ring_stages(DType dt, int64_t k, int requested) {
  const uint64_t bytes = ring_stage_bytes(dt, k);
  const int most = int(std::min<uint64_t>(kMaxStages, (kMaxSharedBytes - kBarrierBytes) / bytes));
  return std::clamp(requested > 0 ? requested : int(kGemvStreamRingBytes / bytes), 2, most);
}

template <DType kDt, int kU>
cudaError_t launch_with_lane_blocks(const LaunchStream& s, const GemvStreamArgs& a, uint32_t row_bytes, int64_t nb) {
  constexpr int kRows = kConsumerWarps * rows_per_warp(kU);
  auto* kernel = gemv_stream_kernel<kDt, kU, rows_per_warp(kU)>;
  // The function's shared-memory ceiling, raised once to all a ring may
  // take (never lowered under another launch of it).
  static const cudaError_t ceiling =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kMaxSharedBytes));
  if (ceiling != cudaSuccess) return ceiling;
  const int stages = ring_stages(kDt, a.k, a.stages);
  const size_t smem = kBarrierBytes + size_t(stages) * ring_stage_bytes(kDt, a.k);
  const int64_t n_chunks = (a.n + kRows - 1) / kRows;
  const unsigned grid = unsigned(std::min<int64_t>(n_chunks, device_sm_count()));
  return launch_kernel(s, grid, kThreads, smem, kernel, static_cast<const uint8_t*>(a.w), row_bytes, a.n, nb,
                       static_cast<const int8_t*>(a.xq.qs), static_cast<const float*>(a.xq.d), a.y, stages,
                       a.w_const);
}

template <DType kDt>
cudaError_t launch_for_dtype(const LaunchStream& s, const GemvStreamArgs& a, uint32_t row_bytes, int64_t nb) {
  switch (lane_blocks(nb)) {
    case 1: return launch_with_lane_blocks<kDt, 1>(s, a, row_bytes, nb);
    case 2: return launch_with_lane_blocks<kDt, 2>(s, a, row_bytes, nb);
    case 4: return launch_with_lane_blocks<kDt, 4>(s, a, row_bytes, nb);
    default: return launch_with_lane_blocks<kDt, 8>(s, a, row_bytes, nb);
  }
}

// Whether this build's kernels have the bulk copies for this device: a
// device of sm_90 or later running code compiled for it (code JIT-built
// from an older PTX would only trap). Asked once.
bool built_for_bulk_copy() {
  static const bool built = [] {
    cudaFuncAttributes attributes{};
    return cudaFuncGetAttributes(&attributes, gemv_stream_kernel<DType_q4_0, 2, 2>) == cudaSuccess &&
           attributes.ptxVersion >= 90;
  }();
  return built;
}

}  // namespace

bool gemv_stream_fits(DType dt, int64_t m, int64_t n, int64_t k, const void* w, const QuantizedX& xq) {
  if (dt != DType_q8_0 && dt != DType_q4_0 && dt != DType_q4_1) return false;
  if (m != 1 || n < 1 || n > int64_t(INT32_MAX) || !gemv_layout_applies(dt, k) || k / 32 > 256) return false;
  if (xq.qs == nullptr || xq.d == nullptr || reinterpret_cast<uintptr_t>(xq.qs) % 16 != 0) return false;
  return reinterpret_cast<uintptr_t>(w) % 16 == 0 && device_has_bulk_copy() && built_for_bulk_copy();
}

int gemv_stream_stages(DType dt, int64_t k, int requested) { return ring_stages(dt, k, requested); }

Status launch_gemv_stream(const LaunchStream& s, const GemvStreamArgs& a) {
  if (!gemv_stream_fits(a.dtype, 1, a.n, a.k, a.w, a.xq))
    return err("cuda::gemv_stream", "these weights or activations cannot be streamed");
  const uint32_t row_bytes = uint32_t(gemv_layout_row_bytes(a.dtype, a.k));
  const int64_t nb = a.k / 32;
  cudaError_t e = cudaErrorInvalidValue;
  switch (a.dtype) {
    case DType_q8_0: e = launch_for_dtype<DType_q8_0>(s, a, row_bytes, nb); break;
    case DType_q4_0: e = launch_for_dtype<DType_q4_0>(s, a, row_bytes, nb); break;
    case DType_q4_1: e = launch_for_dtype<DType_q4_1>(s, a, row_bytes, nb); break;
    default: return err("cuda::gemv_stream", std::string("no streamed GEMV for ") + dtype_name(a.dtype));
  }
  return cuda_status(e, "cuda::gemv_stream", "launch");
}

}  // namespace samepage::cuda
