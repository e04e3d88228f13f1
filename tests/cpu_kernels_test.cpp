// CPU kernels, part 1: dtypes (sizes, f16/bf16 conversion, quantizers) and
// matmul for every weight dtype and ISA variant against float64 references.
// Part 2 (thread pool, norms, rope, softmax, attention, ...) is cpu_ops_test.cpp.
#include <gtest/gtest.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/cpu/matmul.h"
#include "cpu_test_util.h"

namespace samepage::cpu::test {
namespace {

constexpr DType kWeightDTypes[] = {DType_f32, DType_f16, DType_bf16, DType_q8_0, DType_q4_0, DType_q4_1};
constexpr DType kFloatDTypes[] = {DType_f32, DType_f16, DType_bf16};
constexpr DType kQuantDTypes[] = {DType_q8_0, DType_q4_0, DType_q4_1};

float f32_from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

// ---------------------------------------------------------------- dtypes

TEST(CpuDType, SizesAndRowBytes) {
  EXPECT_EQ(dtype_block_size(DType_f32), 1);
  EXPECT_EQ(dtype_block_size(DType_q4_1), 32);
  EXPECT_EQ(dtype_block_bytes(DType_q8_0), 34);
  EXPECT_EQ(dtype_block_bytes(DType_q4_0), 18);
  EXPECT_EQ(dtype_block_bytes(DType_q4_1), 20);
  EXPECT_EQ(row_bytes(DType_f32, 7), 28u);
  EXPECT_EQ(row_bytes(DType_bf16, 1), 2u);
  EXPECT_EQ(row_bytes(DType_i32, 3), 12u);
  EXPECT_EQ(row_bytes(DType_q8_0, 64), 68u);
  EXPECT_EQ(row_bytes(DType_q4_0, 4096), 128u * 18u);
  EXPECT_EQ(row_bytes(DType_q4_1, 32), 20u);
  // Not a whole number of blocks, negative, or an invalid dtype: refused.
  EXPECT_EQ(row_bytes(DType_q4_0, 33), 0u);
  EXPECT_EQ(row_bytes(DType_q8_0, 31), 0u);
  EXPECT_EQ(row_bytes(DType_f32, -1), 0u);
  EXPECT_EQ(row_bytes(DType(99), 32), 0u);
  EXPECT_STREQ(dtype_name(DType_q4_1), "q4_1");
  float dst[32];
  EXPECT_FALSE(dequantize_row(DType_q4_0, dst, dst, 31).is_ok());
  EXPECT_FALSE(quantize_row(DType_i32, dst, dst, 4).is_ok());
}

TEST(CpuDType, F16EdgeCases) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_f16(inf), 0x7c00);
  EXPECT_EQ(f32_to_f16(-inf), 0xfc00);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  const uint16_t nan = f32_to_f16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
  // A NaN whose payload lives only in the dropped low bits must stay NaN.
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f32_from_bits(0xff800001u)))));
  EXPECT_EQ(f32_to_f16(f32_from_bits(0xff800001u)) & 0x8000, 0x8000);
  // Largest finite, overflow, and the tie at 65520 that rounds (to even) to inf.
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  // Ties in the normal range go to the even mantissa.
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
  // Subnormals: smallest, ties to even at 0, 1, and the boundary to normals.
  EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);
  EXPECT_EQ(f32_to_f16(0x1p-25f + 0x1p-35f), 0x0001);
  EXPECT_EQ(f32_to_f16(3 * 0x1p-25f), 0x0002);
  EXPECT_EQ(f32_to_f16(-0x1p-24f), 0x8001);
  EXPECT_EQ(f32_to_f16(0x1p-14f - 0x1p-25f), 0x0400);
  EXPECT_EQ(f32_to_f16(0x1p-14f), 0x0400);
  EXPECT_EQ(f32_to_f16(1e-10f), 0x0000);
  EXPECT_EQ(f16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(f16_to_f32(0x03ff), 0x1p-14f - 0x1p-24f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0xfc00), -inf);
  // Every finite f16 survives f16 → f32 → f16 exactly; NaNs stay NaN.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << h;
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t f16c_from_f32(float f) {
  return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
__attribute__((target("f16c"))) float f16c_to_f32(uint16_t h) { return _cvtsh_ss(h); }

// The hardware converter (round to nearest even) is an independent oracle.
TEST(CpuDType, F16MatchesF16cHardware) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "no F16C";
  std::mt19937 rng(7);
  for (int i = 0; i < 2'000'000; ++i) {
    // Random bit patterns cover every exponent, subnormals, inf and NaN.
    const float f = f32_from_bits(rng());
    const uint16_t mine = f32_to_f16(f), hw = f16c_from_f32(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(f16_to_f32(mine)));
    } else {
      ASSERT_EQ(mine, hw) << std::hexfloat << f;
    }
  }
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float mine = f16_to_f32(uint16_t(h)), hw = f16c_to_f32(uint16_t(h));
    if (std::isnan(hw)) {
      ASSERT_TRUE(std::isnan(mine));
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(mine), std::bit_cast<uint32_t>(hw)) << h;
    }
  }
}
#endif

TEST(CpuDType, Bf16EdgeCases) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(inf), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-inf), 0xff80);
  // Ties to even; just above a tie rounds up.
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  // Above the midpoint between the largest finite bf16 and 2^128: inf.
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x7f7f7fffu)), 0x7f7f);
  // Subnormals round like everything else.
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x00008000u)), 0x0000);
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x00018000u)), 0x0002);
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x00010001u)), 0x0001);
  // A NaN with only low payload bits would truncate to inf without the quiet bit.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f32_from_bits(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(uint16_t(h));
    if (!std::isnan(f)) {
      ASSERT_EQ(f32_to_bf16(f), h) << h;
    }
  }
}

TEST(CpuDType, GgmlLayoutsDecode) {
  // q4_0: d = 0.5 (f16 0x3800); byte j = j | (15 - j) << 4.
  uint8_t q4_0[18] = {0x00, 0x38};
  for (int j = 0; j < 16; ++j) q4_0[2 + j] = uint8_t(j | ((15 - j) << 4));
  float y[32];
  ASSERT_TRUE(dequantize_row(DType_q4_0, q4_0, y, 32).is_ok());
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;             // low nibble: element j
    EXPECT_EQ(y[j + 16], (15 - j - 8) * 0.5f) << j;   // high nibble: element j + 16
  }
  // q4_1: d = 2, m = -1 (f16 0x4000, 0xbc00).
  uint8_t q4_1[20] = {0x00, 0x40, 0x00, 0xbc};
  for (int j = 0; j < 16; ++j) q4_1[4 + j] = uint8_t(j | ((15 - j) << 4));
  ASSERT_TRUE(dequantize_row(DType_q4_1, q4_1, y, 32).is_ok());
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j * 2.0f - 1.0f);
    EXPECT_EQ(y[j + 16], (15 - j) * 2.0f - 1.0f);
  }
  // q8_0: d = 0.25 (0x3400), qs = i - 16.
  uint8_t q8_0[34] = {0x00, 0x34};
  for (int i = 0; i < 32; ++i) q8_0[2 + i] = uint8_t(int8_t(i - 16));
  ASSERT_TRUE(dequantize_row(DType_q8_0, q8_0, y, 32).is_ok());
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], (i - 16) * 0.25f);
}

TEST(CpuDType, QuantizersFollowGgmlConventions) {
  float x[32];
  for (int i = 0; i < 32; ++i) x[i] = 0.1f * float(i % 7) - 0.25f;
  // q4_0: the signed extreme maps to nibble 0 (value -8·d), d = max / -8.
  x[5] = 8.0f;
  BlockQ4_0 b40;
  ASSERT_TRUE(quantize_row(DType_q4_0, x, &b40, 32).is_ok());
  EXPECT_EQ(b40.d, f32_to_f16(-1.0f));
  EXPECT_EQ(b40.qs[5] & 0xf, 0);
  x[5] = -8.0f;
  ASSERT_TRUE(quantize_row(DType_q4_0, x, &b40, 32).is_ok());
  EXPECT_EQ(b40.d, f32_to_f16(1.0f));
  EXPECT_EQ(b40.qs[5] & 0xf, 0);
  // q8_0: d = amax / 127, the extreme maps to ±127.
  x[20] = -12.7f;
  BlockQ8_0 b80;
  ASSERT_TRUE(quantize_row(DType_q8_0, x, &b80, 32).is_ok());
  EXPECT_EQ(b80.d, f32_to_f16(12.7f / 127.0f));
  EXPECT_EQ(b80.qs[20], -127);
  // q4_1: m = min, d = (max - min) / 15; min → 0, max → 15.
  x[7] = 5.0f;
  BlockQ4_1 b41;
  ASSERT_TRUE(quantize_row(DType_q4_1, x, &b41, 32).is_ok());
  EXPECT_EQ(b41.m, f32_to_f16(-12.7f));
  EXPECT_EQ(b41.d, f32_to_f16((5.0f - -12.7f) / 15.0f));
  EXPECT_EQ(b41.qs[20 - 16] >> 4, 0);
  EXPECT_EQ(b41.qs[7] & 0xf, 15);
  // An all-zero block quantizes to d = 0 and decodes to zeros (no NaN).
  float zeros[32] = {};
  float y[32];
  for (DType t : kQuantDTypes) {
    uint8_t bytes[34];
    ASSERT_TRUE(quantize_row(t, zeros, bytes, 32).is_ok());
    ASSERT_TRUE(dequantize_row(t, bytes, y, 32).is_ok());
    for (float v : y) EXPECT_EQ(v, 0.0f) << dtype_name(t);
  }
}

// Per element |x - dequant(quant(x))| is bounded by half a quantization step
// (a full step where q4_0 clamps the side opposite its extreme to +7), plus
// the error of storing d (and m) as f16 times the largest quant.
TEST(CpuDType, QuantizeRoundTripBounds) {
  for (DType t : kQuantDTypes) {
    for (float range : {1e-3f, 1.0f, 300.0f}) {
      const int64_t n = 32 * 64;
      std::vector<float> x = random_floats(size_t(n), 11, -range, range);
      x[3] = 0.0f;  // exact zeros and one outlier inside otherwise ordinary blocks
      x[40] = 4 * range;
      std::vector<uint8_t> q(row_bytes(t, n));
      std::vector<float> y(static_cast<size_t>(n));
      ASSERT_TRUE(quantize_row(t, x.data(), q.data(), n).is_ok());
      ASSERT_TRUE(dequantize_row(t, q.data(), y.data(), n).is_ok());
      const std::vector<double> ref = decode_row(t, q.data(), n);
      for (int64_t b = 0; b < n / 32; ++b) {
        const float* xb = x.data() + b * 32;
        float amax = 0, mn = xb[0], mx = xb[0];
        for (int i = 0; i < 32; ++i) {
          amax = std::max(amax, std::fabs(xb[i]));
          mn = std::min(mn, xb[i]);
          mx = std::max(mx, xb[i]);
        }
        double bound = 0;
        if (t == DType_q8_0) {
          const double d = amax / 127.0f;
          bound = 0.5 * d + 127 * std::fabs(d - half_to_double(q.data() + b * 34));
        } else if (t == DType_q4_0) {
          const double d = amax / 8.0f;
          bound = 1.0 * d + 8 * std::fabs(d - std::fabs(half_to_double(q.data() + b * 18)));
        } else {
          const double d = (mx - mn) / 15.0f;
          const uint8_t* blk = q.data() + b * 20;
          bound = 0.5 * d + 15 * std::fabs(d - half_to_double(blk)) + std::fabs(mn - half_to_double(blk + 2));
        }
        bound = bound * (1 + 1e-6) + 4 * kU * amax;  // float rounding inside the quantizer
        for (int i = 0; i < 32; ++i) {
          const size_t e = size_t(b * 32 + i);
          ASSERT_EQ(double(y[e]), ref[e]) << "dequantize_row disagrees with the layout decoder";
          ASSERT_LE(std::fabs(double(x[e]) - ref[e]), bound) << dtype_name(t) << " range " << range << " i " << e;
        }
      }
    }
  }
}

// ---------------------------------------------------------------- matmul

struct MatmulCase {
  int64_t m, n, k;
};

// Activation quantization exactly as the kernels do it (float ops), decoded
// to float64: the reference for the integer part of the quantized path.
std::vector<double> quantized_activations(const float* x, int64_t k) {
  std::vector<double> out(static_cast<size_t>(k));
  for (int64_t b = 0; b < k / 32; ++b) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    for (int i = 0; i < 32; ++i) out[size_t(b * 32 + i)] = double(std::nearbyint(x[b * 32 + i] * id)) * d;
  }
  return out;
}

// Reference values and error bounds for one output y[r][j].
struct DotBounds {
  double exact = 0;      // sum w x in float64, w the decoded weights
  double exact_qx = 0;   // sum w (q·dx): with the kernel's quantized activations (quant types)
  double act_bound = 0;  // worst case of the activation rounding (quant types)
  double float_tol = 0;  // worst case of the kernel's float rounding
};

DotBounds dot_bounds(DType t, const double* w, const uint8_t* w_row_bytes, const float* x, int64_t k) {
  DotBounds out;
  if (!dtype_is_quantized(t)) {
    double abs_sum = 0;
    for (int64_t i = 0; i < k; ++i) {
      out.exact += w[i] * x[i];
      abs_sum += std::fabs(w[i] * x[i]);
    }
    // f32 accumulation of k products in any order: at most (k + 2) roundings
    // of size u relative to sum |w x| (the weights decode exactly to f32).
    out.float_tol = double(k + 2) * kU * abs_sum;
    return out;
  }
  const std::vector<double> xq = quantized_activations(x, k);
  double float_scale = 0;
  for (int64_t b = 0; b < k / 32; ++b) {
    float amax = 0;
    double w_abs = 0, x_abs = 0;
    for (int64_t i = b * 32; i < b * 32 + 32; ++i) {
      amax = std::max(amax, std::fabs(x[i]));
      w_abs += std::fabs(w[i]);
      x_abs += std::fabs(x[i]);
      out.exact += w[i] * x[i];
      out.exact_qx += w[i] * xq[size_t(i)];
    }
    const double dx = amax / 127.0;
    // Activation rounding: |x - q·dx| <= dx/2 per element.
    out.act_bound += w_abs * dx / 2;
    // Float part: the kernels scale exact integer block sums by f16(d)·dx and
    // accumulate over blocks; q4 types add the offset (-8·d) or minimum (m)
    // times sum(q)·dx as a separate float sum. Every term is bounded by
    // (|nibble·d| max + |offset or m|) times sum |q·dx|.
    const uint8_t* blk = w_row_bytes + size_t(b) * size_t(dtype_block_bytes(t));
    const double d = std::fabs(half_to_double(blk));
    const double w_max = t == DType_q8_0   ? 128 * d
                         : t == DType_q4_0 ? (15 + 8) * d
                                           : 15 * d + std::fabs(half_to_double(blk + 2));
    float_scale += w_max * (x_abs + 32 * dx);
  }
  // A few roundings per block term (scale product, conversion, fma) plus the
  // accumulation over k/32 blocks.
  out.float_tol = 4.0 * double(k / 32 + 8) * kU * float_scale;
  return out;
}

// Checks y (m, n) from matmul against float64 references; returns the largest
// |error| / tolerance seen.
double check_matmul(DType t, const std::vector<double>& w, const std::vector<float>& x, const std::vector<float>& y,
                    const MatmulCase& c, const std::vector<uint8_t>& w_bytes) {
  double worst = 0;
  const size_t w_row = row_bytes(t, c.k);
  for (int64_t r = 0; r < c.m; ++r) {
    for (int64_t j = 0; j < c.n; ++j) {
      const DotBounds b = dot_bounds(t, w.data() + j * c.k, w_bytes.data() + size_t(j) * w_row, x.data() + r * c.k, c.k);
      const double got = y[size_t(r * c.n + j)];
      double tol = b.float_tol;
      if (dtype_is_quantized(t)) {
        // Tight check: the integer pipeline must reproduce the product with the
        // kernel's own quantized activations up to float rounding.
        EXPECT_LE(std::fabs(got - b.exact_qx), b.float_tol) << dtype_name(t) << " m" << c.m << " n" << c.n << " k" << c.k;
        tol = b.act_bound * (1 + 1e-6) + b.float_tol;
      }
      const double err = std::fabs(got - b.exact);
      EXPECT_LE(err, tol) << dtype_name(t) << " m" << c.m << " n" << c.n << " k" << c.k << " r" << r << " j" << j;
      worst = std::max(worst, err / tol);
    }
  }
  return worst;
}

TEST(CpuMatmul, EveryDtypeAndIsaMatchesFloat64Reference) {
  std::vector<MatmulCase> float_cases, quant_cases;
  for (int64_t k : {1, 7, 31, 33, 100, 4096}) {
    for (int64_t n : {1, 7, 33, 100}) float_cases.push_back({1, n, k});
  }
  for (int64_t k : {32, 64, 96, 192, 576, 4096}) {
    for (int64_t n : {1, 7, 33, 100}) quant_cases.push_back({1, n, k});
  }
  // Prefill shapes: more x rows than one activation block (16) too.
  for (auto* cases : {&float_cases, &quant_cases}) {
    for (int64_t m : {3, 17}) cases->push_back({m, 33, 96});
    cases->push_back({33, 7, 4096});
  }
  uint32_t seed = 100;
  for (DType t : kWeightDTypes) {
    for (const MatmulCase& c : dtype_is_quantized(t) ? quant_cases : float_cases) {
      std::vector<double> w;
      const std::vector<uint8_t> w_bytes = random_weights(t, c.n, c.k, ++seed, &w);
      const std::vector<float> x = random_floats(size_t(c.m * c.k), ++seed);
      for (CpuIsa isa : supported_isas()) {
        CpuContext ctx(3, isa);
        std::vector<float> y(size_t(c.m * c.n), NAN);
        ASSERT_TRUE(matmul(ctx, t, w_bytes.data(), x.data(), y.data(), c.m, c.n, c.k).is_ok());
        SCOPED_TRACE(cpu_isa_name(isa));
        check_matmul(t, w, x, y, c, w_bytes);
      }
    }
  }
}

// The decode shape that matters, at full size (n = k = 4096), every dtype.
TEST(CpuMatmul, LargeGemvEveryDtype) {
  const MatmulCase c{1, 4096, 4096};
  const std::vector<float> x = random_floats(size_t(c.k), 5);
  for (DType t : kWeightDTypes) {
    std::vector<double> w;
    const std::vector<uint8_t> w_bytes = random_weights(t, c.n, c.k, 6, &w);
    CpuContext ctx;
    std::vector<float> y(static_cast<size_t>(c.n));
    ASSERT_TRUE(matmul(ctx, t, w_bytes.data(), x.data(), y.data(), c.m, c.n, c.k).is_ok());
    const double worst = check_matmul(t, w, x, y, c, w_bytes);
    RecordProperty(std::string("worst_err_over_tol_") + dtype_name(t), std::to_string(worst));
  }
}

// Each SIMD variant against the scalar path directly. Both differ from the
// exact result only by float rounding (integer block sums and activation
// quants are identical across ISAs), so they agree within twice float_tol.
TEST(CpuMatmul, IsaVariantsAgreeWithScalar) {
  for (DType t : kWeightDTypes) {
    for (int64_t k : {32, 96, 160, 4096}) {
      const int64_t n = 37, m = 2;
      std::vector<double> w;
      const std::vector<uint8_t> w_bytes = random_weights(t, n, k, uint32_t(k), &w);
      const std::vector<float> x = random_floats(size_t(m * k), uint32_t(k + 1), -3.0f, 3.0f);
      CpuContext scalar(2, CpuIsa_scalar);
      std::vector<float> y_ref(static_cast<size_t>(m * n));
      ASSERT_TRUE(matmul(scalar, t, w_bytes.data(), x.data(), y_ref.data(), m, n, k).is_ok());
      for (CpuIsa isa : supported_isas()) {
        CpuContext ctx(2, isa);
        std::vector<float> y(static_cast<size_t>(m * n));
        ASSERT_TRUE(matmul(ctx, t, w_bytes.data(), x.data(), y.data(), m, n, k).is_ok());
        for (int64_t r = 0; r < m; ++r) {
          for (int64_t j = 0; j < n; ++j) {
            const DotBounds b = dot_bounds(t, w.data() + j * k, w_bytes.data() + size_t(j) * row_bytes(t, k),
                                           x.data() + r * k, k);
            EXPECT_NEAR(y[size_t(r * n + j)], y_ref[size_t(r * n + j)], 2 * b.float_tol)
                << cpu_isa_name(isa) << " " << dtype_name(t) << " k" << k;
          }
        }
      }
    }
  }
}

// Output rows are independent, so the thread count must not change a bit.
TEST(CpuMatmul, ThreadCountDoesNotChangeResults) {
  const int64_t m = 5, n = 301, k = 256;
  for (DType t : kWeightDTypes) {
    std::vector<double> w;
    const std::vector<uint8_t> w_bytes = random_weights(t, n, k, 77, &w);
    const std::vector<float> x = random_floats(size_t(m * k), 78);
    std::vector<float> y1(static_cast<size_t>(m * n));
    CpuContext one(1);
    ASSERT_TRUE(matmul(one, t, w_bytes.data(), x.data(), y1.data(), m, n, k).is_ok());
    for (int threads : {2, 3, 7}) {
      CpuContext ctx(threads);
      std::vector<float> y(static_cast<size_t>(m * n));
      for (int rep = 0; rep < 3; ++rep) {
        ASSERT_TRUE(matmul(ctx, t, w_bytes.data(), x.data(), y.data(), m, n, k).is_ok());
        ASSERT_EQ(y, y1) << dtype_name(t) << " threads " << threads;
      }
    }
  }
}

TEST(CpuMatmul, RejectsBadArguments) {
  CpuContext ctx(1);
  std::vector<uint8_t> w(4096);
  std::vector<float> x(64), y(64);
  EXPECT_FALSE(matmul(ctx, DType_q4_0, w.data(), x.data(), y.data(), 1, 2, 33).is_ok());
  EXPECT_FALSE(matmul(ctx, DType_q8_0, w.data(), x.data(), y.data(), 1, 2, 16).is_ok());
  EXPECT_FALSE(matmul(ctx, DType_i32, w.data(), x.data(), y.data(), 1, 2, 4).is_ok());
  EXPECT_FALSE(matmul(ctx, DType(42), w.data(), x.data(), y.data(), 1, 2, 4).is_ok());
  EXPECT_FALSE(matmul(ctx, DType_f32, w.data(), x.data(), y.data(), -1, 2, 4).is_ok());
  const Status s = matmul(ctx, DType_q4_1, w.data(), x.data(), y.data(), 1, 1, 40);
  EXPECT_NE(s.message().find("[cpu::matmul]"), std::string::npos) << s.message();
  // k = 0: an empty sum.
  y.assign(4, 1.0f);
  ASSERT_TRUE(matmul(ctx, DType_f32, w.data(), x.data(), y.data(), 2, 2, 0).is_ok());
  EXPECT_EQ(y, std::vector<float>(4, 0.0f));
}

}  // namespace
}  // namespace samepage::cpu::test
