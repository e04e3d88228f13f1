// CPU kernels, part 2: thread pool, elementwise, rmsnorm, rope, softmax/argmax,
// embedding, convert and attention against float64 references on random inputs, with
// every ISA variant the machine supports. Tolerances are stated next to each
// check in units of the f32 roundoff u = 2^-24.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "backends/cpu/attention.h"
#include "backends/cpu/elementwise.h"
#include "backends/cpu/embedding.h"
#include "backends/cpu/norm.h"
#include "backends/cpu/rope.h"
#include "backends/cpu/softmax.h"
#include "backends/cpu/thread_pool.h"
#include "cpu_test_util.h"

namespace samepage::cpu::test {
namespace {

constexpr int64_t kSizes[] = {1, 7, 31, 33, 100, 4096};

// ---------------------------------------------------------------- thread pool

TEST(CpuThreadPool, EveryItemExactlyOnce) {
  for (int threads : {1, 2, 4, 9}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.n_threads(), threads);
    for (int64_t n_items : {1, 5, 64, 1000}) {
      for (int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n_items));
        for (int rep = 0; rep < 20; ++rep) {
          pool.parallel_for(n_items, grain, [&](int64_t begin, int64_t end) {
            ASSERT_LE(end - begin, grain);
            for (int64_t i = begin; i < end; ++i) hits[size_t(i)].fetch_add(1);
          });
        }
        for (auto& h : hits) ASSERT_EQ(h.load(), 20);
      }
    }
  }
}

// Workers may start after the constructor returns, after a first job was
// published or after the destructor asked them to stop: none of it may hang.
TEST(CpuThreadPool, ShortLivedPools) {
  for (int i = 0; i < 200; ++i) {
    ThreadPool idle(4);
  }
  for (int i = 0; i < 200; ++i) {
    ThreadPool pool(4);
    std::atomic<int64_t> total{0};
    pool.parallel_for(64, 1, [&](int64_t b, int64_t e) { total += e - b; });
    ASSERT_EQ(total.load(), 64);
  }
}

TEST(CpuThreadPool, NestedAndConcurrentCallers) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  // A task that calls back into the pool runs the inner loop inline.
  pool.parallel_for(8, 1, [&](int64_t, int64_t) {
    pool.parallel_for(10, 2, [&](int64_t b, int64_t e) { total += e - b; });
  });
  EXPECT_EQ(total.load(), 80);
  // Two threads sharing one pool: calls are serialized, none is lost.
  total = 0;
  auto caller = [&] {
    for (int i = 0; i < 200; ++i) pool.parallel_for(100, 7, [&](int64_t b, int64_t e) { total += e - b; });
  };
  std::thread a(caller), b(caller);
  a.join();
  b.join();
  EXPECT_EQ(total.load(), 2 * 200 * 100);
}

// ---------------------------------------------------------------- elementwise, norms, rope, softmax

TEST(CpuElementwise, AddScaleSiluMul) {
  for (int64_t n : kSizes) {
    const auto a = random_floats(size_t(n), 1, -8, 8), b = random_floats(size_t(n), 2, -8, 8);
    std::vector<float> y(static_cast<size_t>(n));
    // One rounding each: |err| <= u |exact| for add and scale.
    add(a.data(), b.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double e = double(a[size_t(i)]) + b[size_t(i)];
      ASSERT_LE(std::fabs(y[size_t(i)] - e), kU * std::fabs(e)) << n;
    }
    scale(a.data(), 0.37f, y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double e = double(a[size_t(i)]) * 0.37f;
      ASSERT_LE(std::fabs(y[size_t(i)] - e), kU * std::fabs(e)) << n;
    }
    // exp (libm, <= 1 ulp), add, divide, multiply: 8u relative covers them,
    // with the 1 + e^-a denominator never cancelling.
    silu_mul(a.data(), b.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double x = a[size_t(i)], e = x / (1 + std::exp(-x)) * b[size_t(i)];
      ASSERT_LE(std::fabs(y[size_t(i)] - e), 8 * kU * std::fabs(e) + 1e-30) << n;
    }
    // In place (y aliases an input).
    std::vector<float> inplace = a;
    add(inplace.data(), b.data(), inplace.data(), n);
    add(a.data(), b.data(), y.data(), n);
    ASSERT_EQ(inplace, y);
  }
  // silu saturates without NaN at large |a|.
  const float big[2] = {-1000.0f, 1000.0f}, ones[2] = {1.0f, 1.0f};
  float out[2];
  silu_mul(big, ones, out, 2);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 1000.0f);
}

TEST(CpuNorm, RmsnormMatchesReference) {
  for (int64_t n : kSizes) {
    const int64_t n_rows = 3;
    const auto x = random_floats(size_t(n * n_rows), 3, -4, 4), w = random_floats(size_t(n), 4, 0.5f, 2);
    std::vector<float> y(static_cast<size_t>(n * n_rows));
    rmsnorm(x.data(), w.data(), y.data(), n_rows, n, 1e-5f);
    for (int64_t r = 0; r < n_rows; ++r) {
      double ss = 0;
      for (int64_t i = 0; i < n; ++i) ss += double(x[size_t(r * n + i)]) * x[size_t(r * n + i)];
      const double inv = 1.0 / std::sqrt(ss / double(n) + 1e-5f);
      for (int64_t i = 0; i < n; ++i) {
        const double e = x[size_t(r * n + i)] * inv * w[size_t(i)];
        // inv_rms rounded to f32, then two products: 4u relative.
        ASSERT_LE(std::fabs(y[size_t(r * n + i)] - e), 4 * kU * std::fabs(e)) << n;
      }
    }
    std::vector<float> inplace = x;
    rmsnorm(inplace.data(), w.data(), inplace.data(), n_rows, n, 1e-5f);
    ASSERT_EQ(inplace, y);
  }
}

void rope_reference(const RopeParams& p, const std::vector<float>& x, std::vector<double>* y, int64_t n_tokens,
                    int64_t pos0) {
  const int64_t d = p.head_dim, half = d / 2;
  y->assign(x.begin(), x.end());
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t h = 0; h < p.n_heads; ++h) {
      const int64_t base = (t * p.n_heads + h) * d;
      for (int64_t i = 0; i < half; ++i) {
        const double theta = double(pos0 + t) * double(p.freq_scale) * std::pow(double(p.freq_base), -2.0 * i / d);
        const int64_t i0 = p.mode == RopeMode_normal ? 2 * i : i;
        const int64_t i1 = p.mode == RopeMode_normal ? 2 * i + 1 : i + half;
        const double a = x[size_t(base + i0)], b = x[size_t(base + i1)];
        (*y)[size_t(base + i0)] = a * std::cos(theta) - b * std::sin(theta);
        (*y)[size_t(base + i1)] = a * std::sin(theta) + b * std::cos(theta);
      }
    }
  }
}

TEST(CpuRope, BothLayoutsMatchReference) {
  for (RopeMode mode : {RopeMode_normal, RopeMode_neox}) {
    for (int64_t head_dim : {2, 64, 128}) {
      for (int64_t pos0 : {0, 1, 17, 100000}) {
        for (float freq_scale : {1.0f, 0.25f}) {
          RopeParams p{head_dim, 3, 500000.0f, freq_scale, mode};
          const int64_t n_tokens = 4;
          const auto x = random_floats(size_t(n_tokens * p.n_heads * head_dim), uint32_t(head_dim + pos0), -2, 2);
          std::vector<float> y(x.size());
          ASSERT_TRUE(rope(p, x.data(), y.data(), n_tokens, pos0).is_ok());
          std::vector<double> ref;
          rope_reference(p, x, &ref, n_tokens, pos0);
          for (size_t i = 0; i < y.size(); ++i) {
            // cos/sin rounded to f32, two products and a sum: 4u·(|a| + |b|) <= 4u·4.
            ASSERT_NEAR(y[i], ref[i], 16 * kU) << "mode " << mode << " dim " << head_dim << " pos " << pos0;
          }
          std::vector<float> inplace = x;
          ASSERT_TRUE(rope(p, inplace.data(), inplace.data(), n_tokens, pos0).is_ok());
          ASSERT_EQ(inplace, y);
        }
      }
    }
  }
}

TEST(CpuRope, PairingAndScaling) {
  // A unit vector on element 0 shows which element is its partner.
  const float x[4] = {1, 0, 0, 0};
  float y[4];
  RopeParams p{4, 1, 10000.0f, 1.0f, RopeMode_normal};
  ASSERT_TRUE(rope(p, x, y, 1, 1).is_ok());
  EXPECT_FLOAT_EQ(y[0], std::cos(1.0f));
  EXPECT_FLOAT_EQ(y[1], std::sin(1.0f));  // normal: (0, 1)
  EXPECT_EQ(y[2], 0.0f);
  p.mode = RopeMode_neox;
  ASSERT_TRUE(rope(p, x, y, 1, 1).is_ok());
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_FLOAT_EQ(y[2], std::sin(1.0f));  // neox: (0, 2)
  // Linear scaling: position 8 at scale 1/4 is position 2 at scale 1.
  const auto v = random_floats(64, 9);
  std::vector<float> a(64), b(64);
  RopeParams scaled{16, 4, 10000.0f, 0.25f, RopeMode_normal}, plain{16, 4, 10000.0f, 1.0f, RopeMode_normal};
  ASSERT_TRUE(rope(scaled, v.data(), a.data(), 1, 8).is_ok());
  ASSERT_TRUE(rope(plain, v.data(), b.data(), 1, 2).is_ok());
  EXPECT_EQ(a, b);
  // Position 0 is the identity.
  ASSERT_TRUE(rope(plain, v.data(), a.data(), 1, 0).is_ok());
  EXPECT_EQ(a, v);
  EXPECT_FALSE(rope(RopeParams{3, 1, 10000.0f, 1.0f, RopeMode_normal}, v.data(), a.data(), 1, 0).is_ok());
}

TEST(CpuSoftmax, EveryIsaMatchesReference) {
  for (CpuIsa isa : supported_isas()) {
    CpuContext ctx(1, isa);
    for (int64_t n : kSizes) {
      const int64_t n_rows = 3;
      auto x = random_floats(size_t(n * n_rows), uint32_t(n), -10, 10);
      // Row 1: huge values (stability); row 2: -inf entries (masked).
      for (int64_t i = 0; i < n; ++i) x[size_t(n + i)] += 1000.0f;
      for (int64_t i = 1; i < n; i += 3) x[size_t(2 * n + i)] = -std::numeric_limits<float>::infinity();
      std::vector<float> y(x.size());
      softmax(ctx, x.data(), y.data(), n_rows, n);
      for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x.data() + r * n;
        double mx = -INFINITY, sum = 0, ysum = 0;
        for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(xr[i]));
        for (int64_t i = 0; i < n; ++i) sum += std::exp(xr[i] - mx);
        for (int64_t i = 0; i < n; ++i) {
          const double e = std::exp(xr[i] - mx) / sum, got = y[size_t(r * n + i)];
          ysum += got;
          // Relative: rounding x - max in f32 (u·|x - max|, amplified by exp
          // into the same relative error; twice for the vector range
          // reduction), exp itself (<= 4 ulp for the polynomial), the f32 sum
          // of n terms (n u) and the final scale. Absolute 1e-37: the
          // polynomial flushes results below e^-87.3 to 0.
          if (std::isinf(xr[i])) {
            ASSERT_EQ(got, 0.0);  // masked entry
            continue;
          }
          const double arg = std::fabs(xr[i] - mx);
          ASSERT_LE(std::fabs(got - e), (double(n + 8) + 2 * arg) * kU * e + 1e-37)
              << cpu_isa_name(isa) << " n " << n << " row " << r << " i " << i;
        }
        ASSERT_NEAR(ysum, 1.0, double(2 * n + 8) * kU);
      }
      std::vector<float> inplace = x;
      softmax(ctx, inplace.data(), inplace.data(), n_rows, n);
      ASSERT_EQ(inplace, y);
    }
    // A NaN poisons its row only; an all -inf row has no distribution (NaN).
    float bad[6] = {1, NAN, 2, -INFINITY, -INFINITY, -INFINITY};
    softmax(ctx, bad, bad, 2, 3);
    for (float v : bad) EXPECT_TRUE(std::isnan(v)) << cpu_isa_name(isa);
  }
}

TEST(CpuSoftmax, ArgmaxFirstMaximum) {
  for (int64_t n : kSizes) {
    auto x = random_floats(size_t(n), uint32_t(n + 5), -3, -1);  // all negative
    const int64_t at = n / 2;
    x[size_t(at)] = 5.0f;
    if (at + 1 < n) x[size_t(n - 1)] = 5.0f;  // a tie later on: the first wins
    EXPECT_EQ(argmax(x.data(), n), at) << n;
  }
  const float with_nan[4] = {NAN, 1.0f, 3.0f, NAN};
  EXPECT_EQ(argmax(with_nan, 4), 2);
  const float ninf[2] = {-INFINITY, -INFINITY};
  EXPECT_EQ(argmax(ninf, 2), 0);
  // NaN is ignored; a row of nothing else gives index 0, never -1.
  EXPECT_EQ(argmax(with_nan, 1), 0);
  const float all_nan[3] = {NAN, NAN, NAN};
  EXPECT_EQ(argmax(all_nan, 3), 0);
  const float nan_then_ninf[3] = {NAN, -INFINITY, NAN};
  EXPECT_EQ(argmax(nan_then_ninf, 3), 1);
  EXPECT_EQ(argmax(with_nan, 0), -1);  // no row at all (the API refuses empty shapes)
}

TEST(CpuEmbedding, EveryDtypeRowLookup) {
  for (DType t : {DType_f32, DType_f16, DType_bf16, DType_q8_0, DType_q4_0, DType_q4_1}) {
    for (int64_t dim : {32, 96, 4096}) {
      const int64_t n_vocab = 50;
      std::vector<double> values;
      const std::vector<uint8_t> table = random_weights(t, n_vocab, dim, uint32_t(dim), &values);
      const int32_t tokens[4] = {0, 49, 17, 17};
      std::vector<float> y(static_cast<size_t>(4 * dim));
      ASSERT_TRUE(embedding(t, table.data(), n_vocab, dim, tokens, 4, y.data()).is_ok());
      for (int64_t r = 0; r < 4; ++r) {
        for (int64_t i = 0; i < dim; ++i) {
          // Decoding is exact: every stored value is an f32 value.
          ASSERT_EQ(double(y[size_t(r * dim + i)]), values[size_t(tokens[r] * dim + i)]) << dtype_name(t);
        }
      }
      const int32_t bad[2] = {3, 50};
      const Status s = embedding(t, table.data(), n_vocab, dim, bad, 2, y.data());
      EXPECT_FALSE(s.is_ok());
      EXPECT_NE(s.message().find("token 50"), std::string::npos) << s.message();
    }
  }
  float y[8];
  const int32_t tok = 0;
  EXPECT_FALSE(embedding(DType_q4_0, y, 1, 7, &tok, 1, y).is_ok());  // dim not a block multiple
  for (DType t : {DType_f32, DType_f16, DType_bf16}) {
    for (int64_t dim : {1, 7, 33, 100}) {  // odd widths for the plain types
      std::vector<double> values;
      const std::vector<uint8_t> table = random_weights(t, 3, dim, 12, &values);
      std::vector<float> out(static_cast<size_t>(dim));
      const int32_t two = 2;
      ASSERT_TRUE(embedding(t, table.data(), 3, dim, &two, 1, out.data()).is_ok());
      for (int64_t i = 0; i < dim; ++i) ASSERT_EQ(double(out[size_t(i)]), values[size_t(2 * dim + i)]) << dtype_name(t);
    }
  }
}

TEST(CpuConvert, FloatTypesAndCopies) {
  for (int64_t n : kSizes) {
    const auto x = random_floats(size_t(n), uint32_t(n), -70000, 70000);  // includes f16 overflow
    std::vector<uint16_t> h(static_cast<size_t>(n)), b(static_cast<size_t>(n)), hb(static_cast<size_t>(n));
    std::vector<float> back(static_cast<size_t>(n));
    ASSERT_TRUE(convert(DType_f32, x.data(), DType_f16, h.data(), n).is_ok());
    ASSERT_TRUE(convert(DType_f32, x.data(), DType_bf16, b.data(), n).is_ok());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(h[size_t(i)], f32_to_f16(x[size_t(i)]));
      ASSERT_EQ(b[size_t(i)], f32_to_bf16(x[size_t(i)]));
    }
    ASSERT_TRUE(convert(DType_f16, h.data(), DType_f32, back.data(), n).is_ok());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(back[size_t(i)], f16_to_f32(h[size_t(i)]));
    ASSERT_TRUE(convert(DType_f16, h.data(), DType_bf16, hb.data(), n).is_ok());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hb[size_t(i)], f32_to_bf16(f16_to_f32(h[size_t(i)])));
    ASSERT_TRUE(convert(DType_bf16, b.data(), DType_f16, hb.data(), n).is_ok());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hb[size_t(i)], f32_to_f16(bf16_to_f32(b[size_t(i)])));
    std::vector<float> copy(static_cast<size_t>(n));
    ASSERT_TRUE(convert(DType_f32, x.data(), DType_f32, copy.data(), n).is_ok());
    ASSERT_EQ(copy, x);
  }
  // Quant types: f32 → q = quantize_row, q → f32 = dequantize_row, q → q = copy.
  const auto x = random_floats(64, 3);
  std::vector<uint8_t> q(row_bytes(DType_q4_1, 64)), q2(q.size()), ref(q.size());
  ASSERT_TRUE(convert(DType_f32, x.data(), DType_q4_1, q.data(), 64).is_ok());
  ASSERT_TRUE(quantize_row(DType_q4_1, x.data(), ref.data(), 64).is_ok());
  EXPECT_EQ(q, ref);
  ASSERT_TRUE(convert(DType_q4_1, q.data(), DType_q4_1, q2.data(), 64).is_ok());
  EXPECT_EQ(q2, q);
  int32_t ints[4] = {1, -2, 3, 4}, ints2[4];
  ASSERT_TRUE(convert(DType_i32, ints, DType_i32, ints2, 4).is_ok());
  EXPECT_EQ(ints2[1], -2);
  EXPECT_FALSE(convert(DType_q4_0, q.data(), DType_q8_0, q2.data(), 64).is_ok());
  EXPECT_FALSE(convert(DType_i32, ints, DType_f32, ints2, 4).is_ok());
  EXPECT_FALSE(convert(DType_q4_1, q.data(), DType_q4_1, q2.data(), 40).is_ok());
}

// ---------------------------------------------------------------- attention

struct KvCache {
  std::vector<uint8_t> k, v;      // (n_ctx, n_kv_heads, head_dim) in dtype
  std::vector<double> k_ref, v_ref;
};

KvCache random_cache(DType t, const AttentionShape& s, uint32_t seed) {
  KvCache c;
  c.k = random_weights(t, s.n_ctx * s.n_kv_heads, s.head_dim, seed, &c.k_ref);
  c.v = random_weights(t, s.n_ctx * s.n_kv_heads, s.head_dim, seed + 1, &c.v_ref);
  return c;
}

// Float64 causal GQA attention; returns the per-element tolerance for f32.
double attention_reference(const AttentionShape& s, const std::vector<float>& q, const KvCache& c,
                           std::vector<double>* out) {
  const int64_t group = s.n_heads / s.n_kv_heads, d = s.head_dim;
  out->assign(size_t(s.n_q_tokens * s.n_heads * d), 0.0);
  double max_score = 0;
  for (int64_t t = 0; t < s.n_q_tokens; ++t) {
    for (int64_t h = 0; h < s.n_heads; ++h) {
      const int64_t g = h / group, n_visible = s.pos0 + t + 1;
      const float* qh = q.data() + (t * s.n_heads + h) * d;
      std::vector<double> p(static_cast<size_t>(n_visible));
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < n_visible; ++j) {
        double dot = 0, abs_dot = 0;
        for (int64_t i = 0; i < d; ++i) {
          dot += qh[i] * c.k_ref[size_t((j * s.n_kv_heads + g) * d + i)];
          abs_dot += std::fabs(qh[i] * c.k_ref[size_t((j * s.n_kv_heads + g) * d + i)]);
        }
        p[size_t(j)] = dot / std::sqrt(double(d));
        max_score = std::max(max_score, abs_dot / std::sqrt(double(d)));
        mx = std::max(mx, p[size_t(j)]);
      }
      for (auto& e : p) sum += (e = std::exp(e - mx));
      double* o = out->data() + (t * s.n_heads + h) * d;
      for (int64_t j = 0; j < n_visible; ++j) {
        for (int64_t i = 0; i < d; ++i) o[i] += p[size_t(j)] / sum * c.v_ref[size_t((j * s.n_kv_heads + g) * d + i)];
      }
    }
  }
  // |v| <= 1, so outputs are convex combinations bounded by 1. Errors, in u:
  // each score is off by <= (d + 2)·max|score| (f32 dot), which moves weights
  // by twice that relatively; exp adds <= 4; the f32 normalizer sum and the
  // weighted sum of values add <= n_visible each.
  const double n_ctx_seen = double(s.pos0 + s.n_q_tokens);
  return kU * (2.0 * double(d + 2) * max_score + 2.0 * n_ctx_seen + 16.0);
}

TEST(CpuAttention, GqaShapesEveryIsaAndKvDtype) {
  struct Heads {
    int64_t n_heads, n_kv_heads;
  };
  uint32_t seed = 1000;
  for (DType kv : {DType_f32, DType_f16, DType_bf16}) {
    for (Heads heads : {Heads{4, 4}, Heads{8, 4}, Heads{8, 2}, Heads{8, 1}, Heads{12, 3}}) {
      // Vector widths 8 and 16 with and without tails, chunks of 32 and 64 columns.
      for (int64_t head_dim : {1, 7, 24, 64, 100, 128}) {
        for (auto [n_q, pos0] : {std::pair<int64_t, int64_t>{1, 0}, {1, 99}, {5, 0}, {3, 30}, {1, 999}}) {
          const AttentionShape s{n_q, heads.n_heads, heads.n_kv_heads, head_dim, pos0 + n_q + 2, pos0};
          if (head_dim >= 64 && pos0 == 999 && heads.n_heads != 8) continue;  // keep the run short
          const KvCache c = random_cache(kv, s, ++seed);
          const auto q = random_floats(size_t(n_q * s.n_heads * head_dim), ++seed);
          std::vector<double> ref;
          const double tol = attention_reference(s, q, c, &ref);
          for (CpuIsa isa : supported_isas()) {
            CpuContext ctx(3, isa);
            std::vector<float> out(ref.size(), NAN);
            ASSERT_TRUE(attention(ctx, s, q.data(), kv, c.k.data(), c.v.data(), out.data()).is_ok());
            for (size_t i = 0; i < out.size(); ++i) {
              ASSERT_NEAR(out[i], ref[i], tol) << cpu_isa_name(isa) << " " << dtype_name(kv) << " heads "
                                               << heads.n_heads << "/" << heads.n_kv_heads << " d " << head_dim
                                               << " n_q " << n_q << " pos0 " << pos0 << " i " << i;
            }
          }
        }
      }
    }
  }
}

// A query must not see cache rows after its own position: changing them
// leaves its output bit-identical, while changing a visible row does not.
TEST(CpuAttention, CausalMaskIgnoresFutureRows) {
  const AttentionShape s{4, 8, 2, 16, 12, 5};  // queries at positions 5..8, rows 9..11 unseen
  for (CpuIsa isa : supported_isas()) {
    CpuContext ctx(2, isa);
    KvCache c = random_cache(DType_f16, s, 7);
    const auto q = random_floats(size_t(s.n_q_tokens * s.n_heads * s.head_dim), 8);
    const size_t n_out = q.size(), token_out = size_t(s.n_heads * s.head_dim);
    std::vector<float> base(n_out), out(n_out);
    ASSERT_TRUE(attention(ctx, s, q.data(), DType_f16, c.k.data(), c.v.data(), base.data()).is_ok());

    const size_t row_bytes_kv = row_bytes(DType_f16, s.n_kv_heads * s.head_dim);
    auto perturb_row = [&](int64_t row) {
      KvCache p = c;
      for (size_t b = size_t(row) * row_bytes_kv; b < size_t(row + 1) * row_bytes_kv; b += 2) {
        p.k[b + 1] ^= 0x40;  // flip an exponent bit of every k and v element in the row
        p.v[b + 1] ^= 0x40;
      }
      return p;
    };
    for (int64_t row = 9; row < 12; ++row) {
      const KvCache p = perturb_row(row);
      ASSERT_TRUE(attention(ctx, s, q.data(), DType_f16, p.k.data(), p.v.data(), out.data()).is_ok());
      EXPECT_EQ(out, base) << cpu_isa_name(isa) << " row " << row;
    }
    // Row 7 is position pos0 + 2: tokens 0 and 1 must not change, 2 and 3 must.
    const KvCache p = perturb_row(7);
    ASSERT_TRUE(attention(ctx, s, q.data(), DType_f16, p.k.data(), p.v.data(), out.data()).is_ok());
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + 2 * token_out, base.begin())) << cpu_isa_name(isa);
    for (size_t t = 2; t < 4; ++t) {
      EXPECT_FALSE(std::equal(out.begin() + t * token_out, out.begin() + (t + 1) * token_out,
                              base.begin() + t * token_out))
          << cpu_isa_name(isa) << " token " << t;
    }
  }
}

TEST(CpuAttention, RejectsBadShapes) {
  CpuContext ctx(1);
  float buf[64] = {};
  EXPECT_FALSE(attention(ctx, {1, 6, 4, 4, 2, 0}, buf, DType_f32, buf, buf, buf).is_ok());  // 6 % 4
  EXPECT_FALSE(attention(ctx, {2, 4, 4, 4, 2, 1}, buf, DType_f32, buf, buf, buf).is_ok());  // past n_ctx
  EXPECT_FALSE(attention(ctx, {1, 4, 4, 4, 2, 0}, buf, DType_q8_0, buf, buf, buf).is_ok());
  EXPECT_FALSE(attention(ctx, {1, 0, 1, 4, 2, 0}, buf, DType_f32, buf, buf, buf).is_ok());
}

}  // namespace
}  // namespace samepage::cpu::test
