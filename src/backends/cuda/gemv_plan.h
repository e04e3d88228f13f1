// Host-side choice of the batch-1 GEMV kernel and its grid (matmul_gemv.cu),
// plain C++ so that the rules are unit-tested without a GPU
// (tests/cuda_gemv_plan_test.cpp) and the bench (bench/cuda_gemv_bench.cpp)
// can name every variant.
//
// Two kernels:
//   warp    one warp (or up to 8) per output column, each lane loading its
//           own units from HBM: 16-byte loads for float rows, 2-byte ones
//           for the quant blocks (2-byte aligned). Works for any k and any
//           pointer: the fallback.
//   staged  each warp streams a run of whole rows, as 16-byte cp.async
//           copies, through a ring of stages in its own piece of shared
//           memory, and decodes the rows from there. Needs rows of 16-byte
//           aligned "segments" of 256 elements (8 quant blocks: 272 / 144 /
//           160 bytes for q8_0 / q4_0 / q4_1; 512 for 16-bit, 1024 for f32):
//           k % 256 == 0 and W 16-byte aligned (and x too for float weights,
//           which the kernel reads as float4). With quant weights it can
//           also round x to 8-bit blocks itself (each CTA into shared memory,
//           while its first weight copies are in flight), saving the
//           separate quantize_x kernel, when x is at most kGemvFusedMaxX
//           elements.
#pragma once

#include <cstdint>

#include "samepage/dtype.h"

// What the kernel shares with the host (the staged work split): callable on both.
#ifdef __CUDACC__
#define SP_GEMV_HD __host__ __device__
#else
#define SP_GEMV_HD
#endif

namespace samepage::cuda {

// Elements of one staged segment: 8 quant blocks, whose bytes are a multiple of 16.
inline constexpr int64_t kGemvSegment = 256;
constexpr int64_t gemv_segment_bytes(DType dt) { return int64_t(dtype_row_bytes(dt, kGemvSegment)); }
// Segments a stage holds: about 1 KiB of weights (a stage is one cp.async
// group per warp; 4 stages in flight keep ~4 KiB a warp, ~32+ KiB an SM).
constexpr int gemv_segments_per_stage(DType dt) {
  const int64_t b = gemv_segment_bytes(dt);
  return b <= 0 ? 1 : b >= 1024 ? 1 : int(1024 / b);
}

enum class GemvKernel : uint8_t { warp, staged };

// One tuning point. warps and stages are compile-time in the kernel: only
// the pairs that matmul_gemv.cu instantiates are valid (gemv_variant_valid).
struct GemvVariant {
  const char* name;
  GemvKernel kernel;
  int warps;         // a CTA's warps
  int stages;        // staged: cp.async groups in flight a warp
  int warps_per_sm;  // staged: the grid aims at this many warps an SM (rows split evenly),
                     // or as many as fit (occupancy) when fewer
  bool fuse_quantize;  // staged, quant weights: the kernel quantizes x
  int max_split;       // staged: up to this many warps (of one CTA) share a row's k when rows are few
};

inline constexpr GemvVariant kGemvVariants[] = {
    {"warp", GemvKernel::warp, 8, 0, 0, false, 1},
    {"staged-w8-s4", GemvKernel::staged, 8, 4, 64, false, 8},
    {"staged-w8-s4-fq", GemvKernel::staged, 8, 4, 64, true, 8},
    {"staged-w8-s4-fq-k1", GemvKernel::staged, 8, 4, 64, true, 1},
    {"staged-w8-s2-fq", GemvKernel::staged, 8, 2, 64, true, 8},
    {"staged-w4-s4-fq", GemvKernel::staged, 4, 4, 64, true, 4},
    {"staged-w4-s8-fq", GemvKernel::staged, 4, 8, 64, true, 4},
    {"staged-w8-s4-o16-fq", GemvKernel::staged, 8, 4, 16, true, 8},
};
inline constexpr int kGemvVariantCount = int(sizeof kGemvVariants / sizeof kGemvVariants[0]);
// The backend's choice for a product, by shape: the fastest in the H200
// sweep of every variant (bench/RESULTS.md, "Batch-1 GEMV", graph times,
// 2026-12-02). Few rows (k/v projections, n <= 1024) and the vocabulary head
// with 16-bit weights: the warp kernel; float layers: staged, 2 stages,
// rows split; quant weights: the warp kernel for the down projection (k >=
// 4096) and for m > 1, staged with fused rounding for the wide ones (n >=
// 4096), staged with quantize_x first for the square ones.
inline constexpr int kGemvWarp = 0, kGemvStaged = 1, kGemvStagedS2Fused = 4;
constexpr int gemv_default_variant(DType dt, int64_t m, int64_t n, int64_t k) {
  if (n <= 1024) return kGemvWarp;
  if (!dtype_is_quantized(dt)) return n >= 65536 ? kGemvWarp : kGemvStagedS2Fused;
  if (m > 1 || k >= 4096) return kGemvWarp;
  return n >= 4096 ? kGemvStagedS2Fused : kGemvStaged;
}
// The most elements of x (m · k) a CTA quantizes into shared memory (9 KiB).
inline constexpr int64_t kGemvFusedMaxX = 8192;

constexpr bool gemv_variant_valid(const GemvVariant& v) {
  if (v.kernel == GemvKernel::warp) return v.warps == 8;
  const bool pair =
      (v.warps == 8 && (v.stages == 2 || v.stages == 4)) || (v.warps == 4 && (v.stages == 4 || v.stages == 8));
  const bool split = v.max_split >= 1 && v.max_split <= v.warps && (v.max_split & (v.max_split - 1)) == 0;
  return pair && split && v.warps_per_sm >= 1;
}

// Whether the staged kernel can read W (n, k) of dt at w (and float x at x).
constexpr bool gemv_staged_fits(DType dt, int64_t k, uintptr_t w, uintptr_t x) {
  if (!dtype_is_weight(dt) || k <= 0 || k % kGemvSegment != 0 || w % 16 != 0) return false;
  return dtype_is_quantized(dt) || x % 16 == 0;
}

struct GemvPlan {
  GemvKernel kernel;
  int warps;              // a CTA's warps
  int stages;             // staged only
  int warps_per_row;      // warps sharing one column's k (staged: then a row a warp group)
  int64_t rows_per_warp;  // staged only: whole rows a warp streams
  int64_t blocks;         // the grid
  bool quantize_x;        // the kernel rounds x itself (no quantize_x kernel first)
};

// The staged grid, for at most sm_count · warps_per_sm warps (one wave when
// warps_per_sm is what fits an SM at once), CTAs of p.warps: n rows split
// into even runs of rows_per_warp; or, when n is below the target, each row
// split among warps_per_row warps (a power of 2 up to max_split, at most a
// segment each), so that small matrices still reach every SM.
constexpr void gemv_staged_grid(GemvPlan& p, int64_t n, int64_t segs_per_row, int sm_count, int warps_per_sm,
                                int max_split) {
  const int64_t target = int64_t(sm_count > 0 ? sm_count : 1) * (warps_per_sm > 0 ? warps_per_sm : 1);
  p.warps_per_row = 1;
  while (p.warps_per_row * 2 <= max_split && p.warps_per_row * 2 <= p.warps && p.warps_per_row * 2 <= segs_per_row &&
         n * p.warps_per_row * 2 <= target)
    p.warps_per_row *= 2;
  p.rows_per_warp = p.warps_per_row > 1 ? 1 : (n + target - 1) / target;
  const int64_t warps = (n + p.rows_per_warp - 1) / p.rows_per_warp * p.warps_per_row;
  p.blocks = (warps + p.warps - 1) / p.warps;
}

// Warp gw's share of a staged plan: rows [j0, j1), of each the segments
// [s0, s1) (of segs_per_row). A warp past the end gets j0 == j1. Its bytes
// are one contiguous run: either whole rows (s0 = 0, s1 = segs_per_row) or
// part of a single row.
struct GemvStagedWork {
  int64_t j0, j1, s0, s1;
};
constexpr SP_GEMV_HD GemvStagedWork gemv_staged_work(int64_t gw, int64_t n, int64_t segs_per_row,
                                                     int64_t rows_per_warp, int warps_per_row) {
  const int64_t group = gw / warps_per_row, sub = gw % warps_per_row;
  GemvStagedWork w{group * rows_per_warp, 0, segs_per_row * sub / warps_per_row,
                   segs_per_row * (sub + 1) / warps_per_row};
  w.j1 = w.j0 >= n ? w.j0 : w.j0 + rows_per_warp < n ? w.j0 + rows_per_warp : n;
  return w;
}

// The launch of y (m, n) = x (m, k) · W (n, k)ᵀ with variant v on a device of
// sm_count SMs, resident_warps_per_sm of the staged kernel fitting an SM at
// once (0: unknown): the staged kernel where it fits and v asks for it, else
// the warp kernel. Every output column is covered exactly once:
// blocks · warps / warps_per_row ≥ n (warp) or blocks · warps · rows_per_warp / warps_per_row ≥ n (staged).
constexpr GemvPlan plan_gemv(const GemvVariant& v, DType dt, int64_t m, int64_t n, int64_t k, uintptr_t w,
                             uintptr_t x, int sm_count, int resident_warps_per_sm = 0) {
  GemvPlan p{GemvKernel::warp, 8, 0, 1, 1, 0, false};
  if (n <= 0) return p;
  if (v.kernel == GemvKernel::staged && gemv_variant_valid(v) && gemv_staged_fits(dt, k, w, x)) {
    p.kernel = GemvKernel::staged;
    p.warps = v.warps;
    p.stages = v.stages;
    p.quantize_x = v.fuse_quantize && dtype_is_quantized(dt) && m * k <= kGemvFusedMaxX;
    const int per_sm = resident_warps_per_sm > 0 && resident_warps_per_sm < v.warps_per_sm ? resident_warps_per_sm
                                                                                           : v.warps_per_sm;
    gemv_staged_grid(p, n, k / kGemvSegment, sm_count, per_sm, v.max_split);
    return p;
  }
  // Warp kernel: a narrow matrix splits each column's k among up to 8 warps
  // so that at least 16384 warps read.
  while (p.warps_per_row < p.warps && n * p.warps_per_row < 16384) p.warps_per_row *= 2;
  const int64_t cols_per_block = p.warps / p.warps_per_row;
  p.blocks = (n + cols_per_block - 1) / cols_per_block;
  return p;
}

// Grouped GEMVs (gemv_group.cu: several products of one x in one launch):
// each lane takes at most kGemvGroupLaneUnits units of a row, all loaded
// in one batch that goes out before the wait for the previous kernel (W
// const), so a matrix whose warps are resident then is read entirely
// while that kernel runs; rows with more units are split among warps (a
// power of 2 up to 8) whose sums meet in shared memory.
inline constexpr int kGemvGroupLaneUnits = 8;
constexpr int gemv_group_warps_per_row(int64_t n_units) {
  int wpr = 1;
  while (wpr < 8 && n_units > int64_t(32) * kGemvGroupLaneUnits * wpr) wpr *= 2;
  return wpr;
}
// Rows a warp of the grouped kernel reads together, on the GEMV layout
// (gemv_group.h rows_per_task): where a lane would hold at most 2 units (32
// elements each) of a row and the rows are many (a quarter as many warps
// still fill the SMs), 4 rows of one part, or 2 of each part of a silu pair,
// so that 8 units' loads are in flight a lane. Measured on the H200
// (cuda_gemv_bench, Session 17): q8_0 128256 × 2048 67.7 µs against 137.7
// a row a warp (89.2 staged), q4_0 8192 × 2048 5.4 against 8.3; the 1B
// Q4_0 decode's gate/up pair 9.6 against 11.0 (CUPTI timeline). A pair
// that rounds its output for the product after it takes 4 rows of each
// instead (gemv_group.h round_out: 1B Q4_0 decode 1,597 against 1,493
// tok/s with quantize_x before down, Session 18).
constexpr int gemv_group_task_rows(bool packed, bool silu, int n_parts, int64_t n, int64_t k) {
  if (!packed || k / 32 > 64 || n < 8192) return 1;
  if (silu) return 2;
  return n_parts == 1 ? 4 : 1;
}

// Whether a product of one row of x with quant weights in the GEMV layout
// takes the streamed GEMV (gemv_stream.h) rather than the grouped kernel.
// Measured on the H200 (cuda_gemv_bench --pdl, graph µs with quantize_x,
// Session 19's run26, against the grouped kernel's best): q4_0 128256 ×
// 2048 41.3 against 53.3 (4 rows a warp), 2048 × 8192 6.82 against 7.58,
// 2048 × 2048 3.04 against 3.71, 512 × 2048 2.65 against 3.25; q8_0 128256
// × 2048 66.8 against 67.7; but a part of 8,192 rows of k 2,048 went faster
// 4 rows a warp (q4_0 5.37 against 5.64), so parts of fewer than 32,768
// rows keep that kernel (only 8,192 and 128,256 rows were measured: the
// cutoff between is a guess).
constexpr bool gemv_stream_preferred(int64_t m, int64_t n, int64_t k) {
  return m == 1 && !(gemv_group_task_rows(true, false, 1, n, k) == 4 && n < 32768);
}

}  // namespace samepage::cuda
