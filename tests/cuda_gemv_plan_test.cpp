// The CUDA GEMV's host-side choices (backends/cuda/gemv_plan.h), checked
// without a GPU: when the staged kernel applies (alignment rules), and that
// every plan's grid covers each output column exactly once.
#if __has_include("backends/cuda/gemv_plan.h")
#include "backends/cuda/gemv_plan.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace samepage::cuda {
namespace {

constexpr uintptr_t kAligned = 0x7f0000001000;  // a 16-byte (and page) aligned address

TEST(CudaGemvPlan, SegmentsAreWholeSixteenByteRunsOfQuantBlocks) {
  EXPECT_EQ(gemv_segment_bytes(DType_f32), 1024);
  EXPECT_EQ(gemv_segment_bytes(DType_f16), 512);
  EXPECT_EQ(gemv_segment_bytes(DType_bf16), 512);
  EXPECT_EQ(gemv_segment_bytes(DType_q8_0), 272);  // 8 × 34
  EXPECT_EQ(gemv_segment_bytes(DType_q4_0), 144);  // 8 × 18
  EXPECT_EQ(gemv_segment_bytes(DType_q4_1), 160);  // 8 × 20
  for (DType dt : {DType_f32, DType_f16, DType_bf16, DType_q8_0, DType_q4_0, DType_q4_1}) {
    EXPECT_EQ(gemv_segment_bytes(dt) % 16, 0) << dtype_name(dt);
    // A stage (what the kernel's ring slot holds) is about 1 KiB and whole chunks.
    const int64_t stage = gemv_segments_per_stage(dt) * gemv_segment_bytes(dt);
    EXPECT_LE(stage, 1024) << dtype_name(dt);
    EXPECT_GT(stage, 512) << dtype_name(dt);
    // Any row of k = 256·s starts 16-byte aligned when W does.
    for (int64_t k : {256, 2048, 8192, 768})
      EXPECT_EQ(dtype_row_bytes(dt, k) % 16, 0u) << dtype_name(dt) << " k " << k;
  }
  EXPECT_EQ(gemv_segments_per_stage(DType_q4_0), 7);
  EXPECT_EQ(gemv_segments_per_stage(DType_f32), 1);
}

TEST(CudaGemvPlan, StagedOnlyForWholeSegmentsAndAlignedPointers) {
  EXPECT_TRUE(gemv_staged_fits(DType_q4_0, 2048, kAligned, 0));
  EXPECT_TRUE(gemv_staged_fits(DType_q4_0, 2048, kAligned, 3));  // quant x is the backend's aligned xq
  EXPECT_FALSE(gemv_staged_fits(DType_q4_0, 576, kAligned, 0));   // 18 blocks: rows 2-byte aligned only
  EXPECT_FALSE(gemv_staged_fits(DType_q4_0, 2048, kAligned + 2, 0));
  EXPECT_FALSE(gemv_staged_fits(DType_q8_0, 2048, kAligned + 8, 0));
  EXPECT_TRUE(gemv_staged_fits(DType_bf16, 8192, kAligned, kAligned));
  EXPECT_FALSE(gemv_staged_fits(DType_bf16, 8192, kAligned, kAligned + 4));  // x read as float4
  EXPECT_FALSE(gemv_staged_fits(DType_f32, 100, kAligned, kAligned));
  EXPECT_FALSE(gemv_staged_fits(DType_i32, 256, kAligned, kAligned));
  EXPECT_FALSE(gemv_staged_fits(DType_f16, 0, kAligned, kAligned));

  const GemvVariant& v = kGemvVariants[kGemvDefaultVariant];
  EXPECT_EQ(plan_gemv(v, DType_q4_1, 1, 2048, 2048, kAligned, 0, 132).kernel, GemvKernel::staged);
  EXPECT_EQ(plan_gemv(v, DType_q4_1, 1, 2048, 2048, kAligned + 2, 0, 132).kernel, GemvKernel::warp);
  EXPECT_EQ(plan_gemv(v, DType_q4_1, 1, 2048, 576, kAligned, 0, 132).kernel, GemvKernel::warp);
  EXPECT_EQ(plan_gemv(kGemvVariants[0], DType_q4_1, 1, 2048, 2048, kAligned, 0, 132).kernel, GemvKernel::warp);
}

TEST(CudaGemvPlan, VariantsAreBuiltAndNamedOnce) {
  std::set<std::string> names;
  for (const GemvVariant& v : kGemvVariants) {
    EXPECT_TRUE(gemv_variant_valid(v)) << v.name;
    EXPECT_TRUE(names.insert(v.name).second) << v.name;
  }
  ASSERT_GE(kGemvDefaultVariant, 0);
  ASSERT_LT(kGemvDefaultVariant, kGemvVariantCount);
  EXPECT_FALSE(gemv_variant_valid({"x", GemvKernel::staged, 8, 8, 48, false}));  // not instantiated
  EXPECT_FALSE(gemv_variant_valid({"x", GemvKernel::staged, 8, 4, 0, false}));
}

// Every column j < n falls to exactly one warp (staged: a run of rows; warp
// kernel: warps_per_row warps of one CTA), and no CTA is wholly idle.
TEST(CudaGemvPlan, GridsCoverEveryColumnOnce) {
  for (const GemvVariant& v : kGemvVariants)
    for (DType dt : {DType_f32, DType_bf16, DType_q8_0, DType_q4_0})
      for (int64_t n : {1, 5, 7, 33, 512, 2048, 6335, 6336, 6337, 7001, 8192, 128256})
        for (int64_t k : {256, 2048, 8192, 576})
          for (int sms : {1, 132}) {
            const GemvPlan p = plan_gemv(v, dt, 1, n, k, kAligned, kAligned, sms);
            SCOPED_TRACE(std::string(v.name) + " " + dtype_name(dt) + " n " + std::to_string(n) + " k " +
                         std::to_string(k) + " sms " + std::to_string(sms));
            ASSERT_GT(p.blocks, 0);
            if (p.kernel == GemvKernel::staged) {
              ASSERT_GE(p.rows_per_warp, 1);
              const int64_t warps = p.blocks * p.warps;
              EXPECT_GE(warps * p.rows_per_warp, n);
              EXPECT_LT((p.blocks - 1) * p.warps * p.rows_per_warp, n);  // the last CTA has work
              // Rows split evenly: about warps_per_sm warps an SM, never fewer rows than needed.
              EXPECT_LE((p.rows_per_warp - 1) * int64_t(sms) * v.warps_per_sm, n);
            } else {
              ASSERT_GE(p.warps_per_row, 1);
              ASSERT_EQ(p.warps % p.warps_per_row, 0);
              const int64_t cols_per_block = p.warps / p.warps_per_row;
              EXPECT_GE(p.blocks * cols_per_block, n);
              EXPECT_LT((p.blocks - 1) * cols_per_block, n);
            }
          }
}

TEST(CudaGemvPlan, DecodeShapesOnAnH200) {
  const GemvVariant& v = kGemvVariants[kGemvDefaultVariant];
  // Head: 128256 rows over 132 SMs at the variant's warps an SM, or fewer
  // when fewer fit (resident_warps_per_sm, from the occupancy).
  GemvPlan p = plan_gemv(v, DType_q4_0, 1, 128256, 2048, kAligned, 0, 132);
  EXPECT_EQ(p.rows_per_warp, (128256 + 132 * v.warps_per_sm - 1) / (132 * v.warps_per_sm));
  p = plan_gemv(v, DType_q4_0, 1, 128256, 2048, kAligned, 0, 132, 32);
  EXPECT_EQ(p.rows_per_warp, 31);  // 128256 / (132 · 32) = 30.4
  EXPECT_LE(p.blocks * p.warps, 132 * 32);  // one wave
  // q/o projection: a row a warp, 256 CTAs of 8.
  p = plan_gemv(v, DType_bf16, 1, 2048, 2048, kAligned, kAligned, 132);
  EXPECT_EQ(p.rows_per_warp, 1);
  EXPECT_EQ(p.blocks, 2048 / v.warps);
}

TEST(CudaGemvPlan, FusedQuantizationOnlyForQuantWeightsAndSmallX) {
  const GemvVariant& fused = kGemvVariants[2];
  ASSERT_TRUE(fused.fuse_quantize);
  EXPECT_TRUE(plan_gemv(fused, DType_q4_0, 1, 2048, 8192, kAligned, 0, 132).quantize_x);  // 8192 = the limit
  EXPECT_TRUE(plan_gemv(fused, DType_q8_0, 4, 2048, 2048, kAligned, 0, 132).quantize_x);
  EXPECT_FALSE(plan_gemv(fused, DType_q8_0, 8, 2048, 2048, kAligned, 0, 132).quantize_x);  // 16384 > the limit
  EXPECT_FALSE(plan_gemv(fused, DType_bf16, 1, 2048, 2048, kAligned, kAligned, 132).quantize_x);
  EXPECT_FALSE(plan_gemv(fused, DType_q4_1, 1, 2048, 576, kAligned, 0, 132).quantize_x);  // the warp kernel
  EXPECT_FALSE(plan_gemv(kGemvVariants[1], DType_q4_0, 1, 2048, 2048, kAligned, 0, 132).quantize_x);
}

}  // namespace
}  // namespace samepage::cuda
#endif
