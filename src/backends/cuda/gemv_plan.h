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
//           which the kernel reads as float4).
#pragma once

#include <cstdint>

#include "samepage/dtype.h"

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
  int warps_per_sm;  // staged: the grid aims at this many warps an SM (rows split evenly)
};

inline constexpr GemvVariant kGemvVariants[] = {
    {"warp", GemvKernel::warp, 8, 0, 0},
    {"staged-w8-s4", GemvKernel::staged, 8, 4, 48},
    {"staged-w8-s2", GemvKernel::staged, 8, 2, 48},
    {"staged-w4-s4", GemvKernel::staged, 4, 4, 48},
    {"staged-w4-s8", GemvKernel::staged, 4, 8, 32},
    {"staged-w8-s4-o24", GemvKernel::staged, 8, 4, 24},
    {"staged-w8-s4-o64", GemvKernel::staged, 8, 4, 64},
};
inline constexpr int kGemvVariantCount = int(sizeof kGemvVariants / sizeof kGemvVariants[0]);
// The backend's choice (an index into kGemvVariants) where the staged kernel
// applies; bench/cuda_gemv_bench prints every variant to pick it from.
inline constexpr int kGemvDefaultVariant = 1;

constexpr bool gemv_variant_valid(const GemvVariant& v) {
  if (v.kernel == GemvKernel::warp) return v.warps == 8;
  const bool pair = (v.warps == 8 && (v.stages == 2 || v.stages == 4)) || (v.warps == 4 && (v.stages == 4 || v.stages == 8));
  return pair && v.warps_per_sm >= 1;
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
  int warps_per_row;      // warp only: warps sharing one column's k
  int64_t rows_per_warp;  // staged only: whole rows a warp streams
  int64_t blocks;         // the grid
};

// The launch of y (m, n) = x · W (n, k)ᵀ with variant v on a device of
// sm_count SMs: the staged kernel where it fits and v asks for it, else the
// warp kernel. Every output column is covered exactly once:
// blocks · warps / warps_per_row ≥ n (warp) or blocks · warps · rows_per_warp ≥ n (staged).
constexpr GemvPlan plan_gemv(const GemvVariant& v, DType dt, int64_t n, int64_t k, uintptr_t w, uintptr_t x,
                             int sm_count) {
  GemvPlan p{GemvKernel::warp, 8, 0, 1, 1, 0};
  if (n <= 0) return p;
  if (v.kernel == GemvKernel::staged && gemv_variant_valid(v) && gemv_staged_fits(dt, k, w, x)) {
    const int64_t target = int64_t(sm_count > 0 ? sm_count : 1) * v.warps_per_sm;
    p.kernel = GemvKernel::staged;
    p.warps = v.warps;
    p.stages = v.stages;
    p.rows_per_warp = (n + target - 1) / target;
    const int64_t warps = (n + p.rows_per_warp - 1) / p.rows_per_warp;
    p.blocks = (warps + v.warps - 1) / v.warps;
    return p;
  }
  // Warp kernel: a narrow matrix splits each column's k among up to 8 warps
  // so that at least 16384 warps read.
  while (p.warps_per_row < p.warps && n * p.warps_per_row < 16384) p.warps_per_row *= 2;
  const int64_t cols_per_block = p.warps / p.warps_per_row;
  p.blocks = (n + cols_per_block - 1) / cols_per_block;
  return p;
}

}  // namespace samepage::cuda
