// The CUDA GEMV's host-side choices (backends/cuda/gemv_plan.h), checked
// without a GPU: when the staged kernel applies (alignment rules), and that
// every plan's grid covers each output column exactly once.
#if __has_include("backends/cuda/gemv_plan.h")
#include "backends/cuda/gemv_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>
#include <string>

namespace samepage::cuda {
namespace {

constexpr uintptr_t kAligned = 0x7f0000001000;  // a 16-byte (and page) aligned address

// The variant these tests reason about (whatever the backend's default is).
const GemvVariant& staged_fq() {
  const GemvVariant& v = kGemvVariants[2];
  EXPECT_STREQ(v.name, "staged-w8-s4-fq");
  return v;
}

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

  const GemvVariant& v = staged_fq();
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
  for (int d : {kGemvWarp, kGemvStaged, kGemvStagedS2Fused}) {
    ASSERT_GE(d, 0);
    ASSERT_LT(d, kGemvVariantCount);
  }
  EXPECT_STREQ(kGemvVariants[kGemvWarp].name, "warp");
  EXPECT_STREQ(kGemvVariants[kGemvStaged].name, "staged-w8-s4");
  EXPECT_STREQ(kGemvVariants[kGemvStagedS2Fused].name, "staged-w8-s2-fq");
  // The shapes of a 1B Llama decode step pick what the H200 sweep measured fastest.
  EXPECT_EQ(gemv_default_variant(DType_bf16, 1, 512, 2048), kGemvWarp);
  EXPECT_EQ(gemv_default_variant(DType_bf16, 1, 8192, 2048), kGemvStagedS2Fused);
  EXPECT_EQ(gemv_default_variant(DType_bf16, 1, 128256, 2048), kGemvWarp);
  EXPECT_EQ(gemv_default_variant(DType_q4_0, 1, 2048, 2048), kGemvStaged);
  EXPECT_EQ(gemv_default_variant(DType_q4_0, 1, 8192, 2048), kGemvStagedS2Fused);
  EXPECT_EQ(gemv_default_variant(DType_q4_0, 1, 2048, 8192), kGemvWarp);
  EXPECT_EQ(gemv_default_variant(DType_q4_0, 4, 8192, 2048), kGemvWarp);
  EXPECT_FALSE(gemv_variant_valid({"x", GemvKernel::staged, 8, 8, 48, false, 1}));  // not instantiated
  EXPECT_FALSE(gemv_variant_valid({"x", GemvKernel::staged, 8, 4, 0, false, 1}));
  EXPECT_FALSE(gemv_variant_valid({"x", GemvKernel::staged, 4, 4, 48, false, 8}));  // a split past the CTA
  EXPECT_FALSE(gemv_variant_valid({"x", GemvKernel::staged, 8, 4, 48, false, 3}));
}

// Every column j < n falls to exactly one warp (staged: each of its
// segments to exactly one warp, by the kernel's own gemv_staged_work; warp
// kernel: warps_per_row warps of one CTA), and no CTA is wholly idle.
TEST(CudaGemvPlan, GridsCoverEveryColumnOnce) {
  for (const GemvVariant& v : kGemvVariants)
    for (DType dt : {DType_f32, DType_bf16, DType_q8_0, DType_q4_0})
      for (int64_t n : {1, 5, 7, 33, 512, 2048, 4223, 4224, 4225, 7001, 8192, 128256})
        for (int64_t k : {256, 512, 768, 2048, 8192, 576})
          for (int sms : {1, 3, 132}) {
            const GemvPlan p = plan_gemv(v, dt, 1, n, k, kAligned, kAligned, sms);
            SCOPED_TRACE(std::string(v.name) + " " + dtype_name(dt) + " n " + std::to_string(n) + " k " +
                         std::to_string(k) + " sms " + std::to_string(sms));
            ASSERT_GT(p.blocks, 0);
            ASSERT_GE(p.warps_per_row, 1);
            ASSERT_EQ(p.warps % p.warps_per_row, 0);  // a row's warps share a CTA
            if (p.kernel == GemvKernel::staged) {
              const int64_t spr = k / kGemvSegment;
              ASSERT_GE(p.rows_per_warp, 1);
              ASSERT_LE(p.warps_per_row, v.max_split);
              ASSERT_LE(p.warps_per_row, spr);  // no warp without a segment
              if (p.warps_per_row > 1) {
                ASSERT_EQ(p.rows_per_warp, 1);  // a split warp's run is one row's
              }
              const int64_t warps = p.blocks * p.warps;
              EXPECT_LT((p.blocks - 1) * p.warps * p.rows_per_warp / p.warps_per_row, n);  // the last CTA has work
              // At most about warps_per_sm warps an SM.
              EXPECT_LE((p.rows_per_warp - 1) * int64_t(sms) * v.warps_per_sm, n);
              EXPECT_LE(n * p.warps_per_row / p.rows_per_warp, int64_t(sms) * v.warps_per_sm + p.warps_per_row);
              if (n * spr > 1 << 20) continue;  // the head: the arithmetic above covers it
              std::vector<uint8_t> seen(size_t(n * spr), 0);
              for (int64_t gw = 0; gw < warps; ++gw) {
                const GemvStagedWork w = gemv_staged_work(gw, n, spr, p.rows_per_warp, p.warps_per_row);
                ASSERT_LE(w.j0, w.j1);
                ASSERT_LE(w.j1, std::max<int64_t>(n, w.j0));
                ASSERT_LT(w.s0, w.s1);
                ASSERT_TRUE(p.warps_per_row == 1 ? w.s0 == 0 && w.s1 == spr : w.j1 - w.j0 <= 1);
                for (int64_t j = w.j0; j < w.j1; ++j)
                  for (int64_t sg = w.s0; sg < w.s1; ++sg) ++seen[size_t(j * spr + sg)];
              }
              for (size_t i = 0; i < seen.size(); ++i)
                ASSERT_EQ(seen[i], 1) << "row " << i / spr << " segment " << i % spr;
            } else {
              const int64_t cols_per_block = p.warps / p.warps_per_row;
              EXPECT_GE(p.blocks * cols_per_block, n);
              EXPECT_LT((p.blocks - 1) * cols_per_block, n);
            }
          }
}

TEST(CudaGemvPlan, FewRowsSplitTheirSegmentsAmongWarps) {
  const GemvVariant& v = staged_fq();
  ASSERT_EQ(v.max_split, 8);
  // k/v projection, 512 × 2048 (8 segments), 132 SMs × 64 warps: 8 warps a row, a segment each.
  GemvPlan p = plan_gemv(v, DType_q4_0, 1, 512, 2048, kAligned, 0, 132);
  EXPECT_EQ(p.warps_per_row, 8);
  EXPECT_EQ(p.rows_per_warp, 1);
  EXPECT_EQ(p.blocks, 512);
  // q/o, 2048 × 2048: 4 a row (8192 warps <= 8448).
  EXPECT_EQ(plan_gemv(v, DType_bf16, 1, 2048, 2048, kAligned, kAligned, 132).warps_per_row, 4);
  // down, 2048 × 8192: 4 a row too; gate/up 8192 rows: 1.
  EXPECT_EQ(plan_gemv(v, DType_bf16, 1, 2048, 8192, kAligned, kAligned, 132).warps_per_row, 4);
  EXPECT_EQ(plan_gemv(v, DType_bf16, 1, 8192, 2048, kAligned, kAligned, 132).warps_per_row, 1);
  // k = 256 is one segment: never split; the k1 variant never splits.
  EXPECT_EQ(plan_gemv(v, DType_q8_0, 1, 5, 256, kAligned, 0, 132).warps_per_row, 1);
  ASSERT_STREQ(kGemvVariants[3].name, "staged-w8-s4-fq-k1");
  EXPECT_EQ(plan_gemv(kGemvVariants[3], DType_q8_0, 1, 512, 2048, kAligned, 0, 132).warps_per_row, 1);
  // k = 768 (3 segments): 2 warps, one takes 1 segment, the other 2.
  p = plan_gemv(v, DType_q8_0, 1, 5, 768, kAligned, 0, 132);
  EXPECT_EQ(p.warps_per_row, 2);
  EXPECT_EQ(gemv_staged_work(0, 5, 3, 1, 2).s1, 1);
  EXPECT_EQ(gemv_staged_work(1, 5, 3, 1, 2).s0, 1);
  EXPECT_EQ(gemv_staged_work(1, 5, 3, 1, 2).s1, 3);
}

TEST(CudaGemvPlan, DecodeShapesOnAnH200) {
  const GemvVariant& v = staged_fq();
  // Head: 128256 rows over 132 SMs at the variant's warps an SM, or fewer
  // when fewer fit (resident_warps_per_sm, from the occupancy).
  GemvPlan p = plan_gemv(v, DType_q4_0, 1, 128256, 2048, kAligned, 0, 132);
  EXPECT_EQ(p.rows_per_warp, (128256 + 132 * v.warps_per_sm - 1) / (132 * v.warps_per_sm));
  p = plan_gemv(v, DType_q4_0, 1, 128256, 2048, kAligned, 0, 132, 32);
  EXPECT_EQ(p.rows_per_warp, 31);  // 128256 / (132 · 32) = 30.4
  EXPECT_LE(p.blocks * p.warps, 132 * 32);  // one wave
  // gate/up: 8192 rows, a row a warp, no split, 1024 CTAs of 8.
  p = plan_gemv(v, DType_bf16, 1, 8192, 2048, kAligned, kAligned, 132);
  EXPECT_EQ(p.rows_per_warp, 1);
  EXPECT_EQ(p.blocks, 8192 / v.warps);
}

TEST(CudaGemvPlan, FusedQuantizationOnlyForQuantWeightsAndSmallX) {
  const GemvVariant& fused = staged_fq();
  ASSERT_TRUE(fused.fuse_quantize);
  EXPECT_TRUE(plan_gemv(fused, DType_q4_0, 1, 2048, 8192, kAligned, 0, 132).quantize_x);  // 8192 = the limit
  EXPECT_TRUE(plan_gemv(fused, DType_q8_0, 4, 2048, 2048, kAligned, 0, 132).quantize_x);
  EXPECT_FALSE(plan_gemv(fused, DType_q8_0, 8, 2048, 2048, kAligned, 0, 132).quantize_x);  // 16384 > the limit
  EXPECT_FALSE(plan_gemv(fused, DType_bf16, 1, 2048, 2048, kAligned, kAligned, 132).quantize_x);
  EXPECT_FALSE(plan_gemv(fused, DType_q4_1, 1, 2048, 576, kAligned, 0, 132).quantize_x);  // the warp kernel
  ASSERT_STREQ(kGemvVariants[1].name, "staged-w8-s4");
  EXPECT_FALSE(plan_gemv(kGemvVariants[1], DType_q4_0, 1, 2048, 2048, kAligned, 0, 132).quantize_x);
}

TEST(CudaGemvPlan, GroupedRowsAreOneBatchALane) {
  // A 2048-wide 16-bit or quant row (256 units): a warp, 8 units a lane.
  EXPECT_EQ(gemv_group_warps_per_row(256), 1);
  // f32 (512 units) and the down projection (8192 wide: 1024 units) split.
  EXPECT_EQ(gemv_group_warps_per_row(512), 2);
  EXPECT_EQ(gemv_group_warps_per_row(1024), 4);
  // Never more than 8 warps a row; short rows one warp.
  EXPECT_EQ(gemv_group_warps_per_row(1 << 20), 8);
  EXPECT_EQ(gemv_group_warps_per_row(1), 1);
  for (int64_t units : {1, 8, 255, 256, 257, 2048, 4096})
    EXPECT_TRUE(units > 32 * 8 * kGemvGroupLaneUnits ||
                units <= 32 * kGemvGroupLaneUnits * gemv_group_warps_per_row(units));
}

TEST(CudaGemvPlan, StreamedForOneRowOfXExceptAFewThousandShortRows) {
  // The 1B's decode products of one row: the vocabulary head, the output
  // and down projections, k/v.
  EXPECT_TRUE(gemv_stream_preferred(1, 128256, 2048));
  EXPECT_TRUE(gemv_stream_preferred(1, 2048, 2048));
  EXPECT_TRUE(gemv_stream_preferred(1, 2048, 8192));
  EXPECT_TRUE(gemv_stream_preferred(1, 512, 2048));
  // 8,192 rows of 64 blocks: four rows a warp of the grouped kernel measured faster.
  EXPECT_FALSE(gemv_stream_preferred(1, 8192, 2048));
  EXPECT_TRUE(gemv_stream_preferred(1, 8192, 8192));  // longer rows: not four a warp there
  // More than one row of x: the grouped kernel reads the weights once for all.
  EXPECT_FALSE(gemv_stream_preferred(2, 128256, 2048));
  EXPECT_FALSE(gemv_stream_preferred(8, 2048, 2048));
}

}  // namespace
}  // namespace samepage::cuda
#endif
