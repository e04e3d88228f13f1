// The samepage tensor API end to end on the CPU backend: every op through
// the guest entry points against a float64 reference, shared and copy modes
// agreeing, validation, recorded sequences and zero-copy introspection.
#include <cmath>

#include "backends/cpu/dtype.h"
#include "host_api_fixture.h"

namespace samepage {
namespace {
// The backend's reference quantizer (GGUF block layouts), standing in for a model file.
bool cpu_quantize_row_for_test(int32_t dtype, const float* src, void* dst, int64_t n) {
  return cpu::quantize_row(static_cast<cpu::DType>(dtype), src, dst, n).is_ok();
}
}  // namespace
}  // namespace samepage

namespace samepage {
namespace {

using test::FakeGuest;

double max_abs_diff(const float* a, const std::vector<double>& ref) {
  double m = 0;
  for (size_t i = 0; i < ref.size(); ++i) m = std::max(m, std::fabs(a[i] - ref[i]));
  return m;
}

class HostApiOps : public ::testing::TestWithParam<MemoryMode> {};

TEST_P(HostApiOps, MatmulF32MatchesFloat64) {
  FakeGuest g(GetParam());
  std::mt19937 rng(1);
  float *x, *w;
  const uint32_t m = 3, n = 37, k = 65;
  const int32_t tx = g.random_f32({m, k}, rng, &x);
  const int32_t tw = g.random_f32({n, k}, rng, &w);
  uint32_t out_at = 0;
  const int32_t tout = g.view(0, {m, n}, m * n * 4, &out_at);
  ASSERT_GT(tx, 0);
  ASSERT_GT(tw, 0);
  ASSERT_GT(tout, 0);
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), tout, tx, tw), 0u) << g.last_error();
  std::vector<double> ref(m * n);
  for (uint32_t i = 0; i < m; ++i)
    for (uint32_t j = 0; j < n; ++j)
      for (uint32_t q = 0; q < k; ++q) ref[i * n + j] += double(x[i * k + q]) * w[j * k + q];
  EXPECT_LT(max_abs_diff(g.at<float>(out_at), ref), 1e-4);  // f32 accumulation over 65 terms of |x·w| <= 1
}

TEST_P(HostApiOps, ElementwiseNormSoftmaxArgmax) {
  FakeGuest g(GetParam());
  std::mt19937 rng(2);
  float *a, *b, *wn;
  const uint32_t rows = 4, cols = 33;
  const int32_t ta = g.random_f32({rows, cols}, rng, &a);
  const int32_t tb = g.random_f32({rows, cols}, rng, &b);
  const int32_t tw = g.random_f32({cols}, rng, &wn);
  uint32_t o = 0;
  const int32_t tout = g.view(0, {rows, cols}, rows * cols * 4, &o);
  float* out = g.at<float>(o);
  const size_t n = rows * cols;
  std::vector<double> ref(n);

  ASSERT_EQ(Z_samepageZ_add(g.ctx(), tout, ta, tb), 0u) << g.last_error();
  for (size_t i = 0; i < n; ++i) ref[i] = double(a[i]) + b[i];
  EXPECT_LT(max_abs_diff(out, ref), 1e-6);

  ASSERT_EQ(Z_samepageZ_silu_mul(g.ctx(), tout, ta, tb), 0u) << g.last_error();
  for (size_t i = 0; i < n; ++i) ref[i] = a[i] / (1.0 + std::exp(-double(a[i]))) * b[i];
  EXPECT_LT(max_abs_diff(out, ref), 1e-6);

  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), tout, ta, 0.37f), 0u) << g.last_error();
  for (size_t i = 0; i < n; ++i) ref[i] = double(a[i]) * 0.37f;
  EXPECT_LT(max_abs_diff(out, ref), 1e-6);

  ASSERT_EQ(Z_samepageZ_rmsnorm(g.ctx(), tout, ta, tw, 1e-5f), 0u) << g.last_error();
  for (uint32_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (uint32_t c = 0; c < cols; ++c) ss += double(a[r * cols + c]) * a[r * cols + c];
    const double inv = 1.0 / std::sqrt(ss / cols + 1e-5);
    for (uint32_t c = 0; c < cols; ++c) ref[r * cols + c] = a[r * cols + c] * inv * wn[c];
  }
  EXPECT_LT(max_abs_diff(out, ref), 1e-5);

  ASSERT_EQ(Z_samepageZ_softmax(g.ctx(), tout, ta), 0u) << g.last_error();
  for (uint32_t r = 0; r < rows; ++r) {
    double mx = -1e30, sum = 0;
    for (uint32_t c = 0; c < cols; ++c) mx = std::max(mx, double(a[r * cols + c]));
    for (uint32_t c = 0; c < cols; ++c) sum += std::exp(a[r * cols + c] - mx);
    for (uint32_t c = 0; c < cols; ++c) ref[r * cols + c] = std::exp(a[r * cols + c] - mx) / sum;
  }
  EXPECT_LT(max_abs_diff(out, ref), 1e-6);

  uint32_t idx_at = 0;
  const int32_t tidx = g.view(DType_i32, {rows}, rows * 4, &idx_at);
  ASSERT_EQ(Z_samepageZ_argmax(g.ctx(), tidx, ta), 0u) << g.last_error();
  for (uint32_t r = 0; r < rows; ++r) {
    const float* row = a + r * cols;
    EXPECT_EQ(g.at<int32_t>(idx_at)[r], std::max_element(row, row + cols) - row);
  }
}

TEST_P(HostApiOps, RopeAndAttentionMatchFloat64) {
  FakeGuest g(GetParam());
  std::mt19937 rng(3);
  const uint32_t n_heads = 4, n_kv = 2, dim = 8, n_ctx = 5, pos0 = 3, n_tok = 2;
  float *q, *k, *v;
  const int32_t tq = g.random_f32({n_tok, n_heads, dim}, rng, &q);
  const int32_t tk = g.random_f32({n_ctx, n_kv, dim}, rng, &k);
  const int32_t tv = g.random_f32({n_ctx, n_kv, dim}, rng, &v);
  uint32_t o = 0;
  const int32_t tout = g.view(0, {n_tok, n_heads, dim}, n_tok * n_heads * dim * 4, &o);

  // rope, interleaved layout, out of place
  ASSERT_EQ(Z_samepageZ_rope(g.ctx(), tout, tq, 7, 10000.0f, 1.0f, 0), 0u) << g.last_error();
  std::vector<double> ref(n_tok * n_heads * dim);
  for (uint32_t t = 0; t < n_tok; ++t)
    for (uint32_t h = 0; h < n_heads; ++h)
      for (uint32_t i = 0; i < dim / 2; ++i) {
        const double theta = (7.0 + t) * std::pow(10000.0, -2.0 * i / dim);
        const size_t base = (t * n_heads + h) * dim;
        const double x0 = q[base + 2 * i], x1 = q[base + 2 * i + 1];
        ref[base + 2 * i] = x0 * std::cos(theta) - x1 * std::sin(theta);
        ref[base + 2 * i + 1] = x0 * std::sin(theta) + x1 * std::cos(theta);
      }
  EXPECT_LT(max_abs_diff(g.at<float>(o), ref), 1e-5);

  // causal grouped-query attention over the cache
  ASSERT_EQ(Z_samepageZ_attention(g.ctx(), tout, tq, tk, tv, pos0), 0u) << g.last_error();
  for (uint32_t t = 0; t < n_tok; ++t)
    for (uint32_t h = 0; h < n_heads; ++h) {
      const uint32_t kvh = h / (n_heads / n_kv);
      const uint32_t n_seen = pos0 + t + 1;
      std::vector<double> s(n_seen);
      double mx = -1e30, sum = 0;
      for (uint32_t c = 0; c < n_seen; ++c) {
        for (uint32_t d = 0; d < dim; ++d) s[c] += double(q[(t * n_heads + h) * dim + d]) * k[(c * n_kv + kvh) * dim + d];
        s[c] /= std::sqrt(double(dim));
        mx = std::max(mx, s[c]);
      }
      for (double& x : s) sum += (x = std::exp(x - mx));
      for (uint32_t d = 0; d < dim; ++d) {
        double acc = 0;
        for (uint32_t c = 0; c < n_seen; ++c) acc += s[c] / sum * v[(c * n_kv + kvh) * dim + d];
        ref[(t * n_heads + h) * dim + d] = acc;
      }
    }
  EXPECT_LT(max_abs_diff(g.at<float>(o), ref), 1e-5);
}

TEST_P(HostApiOps, EmbeddingAndCopyConvert) {
  FakeGuest g(GetParam());
  std::mt19937 rng(4);
  float* table;
  const uint32_t vocab = 10, dim = 6;
  const int32_t tt = g.random_f32({vocab, dim}, rng, &table);
  uint32_t tok_at = 0, o = 0, h_at = 0;
  const int32_t ttok = g.view(6, {3}, 12, &tok_at);
  g.at<int32_t>(tok_at)[0] = 9;
  g.at<int32_t>(tok_at)[1] = 0;
  g.at<int32_t>(tok_at)[2] = 4;
  const int32_t tout = g.view(0, {3, dim}, 3 * dim * 4, &o);
  ASSERT_EQ(Z_samepageZ_embedding(g.ctx(), tout, tt, ttok), 0u) << g.last_error();
  for (int r = 0; r < 3; ++r)
    for (uint32_t c = 0; c < dim; ++c)
      EXPECT_EQ(g.at<float>(o)[r * dim + c], table[g.at<int32_t>(tok_at)[r] * dim + c]);
  // A token outside the vocabulary is an error, not a read past the table.
  g.at<int32_t>(tok_at)[1] = 10;
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_embedding(g.ctx(), tout, tt, ttok)), SP_ERR_BACKEND);
  EXPECT_NE(g.last_error().find("vocabulary"), std::string::npos) << g.last_error();

  // f32 → bf16 → f32 loses at most bf16's 8 bits of mantissa.
  const int32_t tbf = g.view(2, {vocab, dim}, vocab * dim * 2, &h_at);
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), tbf, tt), 0u) << g.last_error();
  uint32_t back_at = 0;
  const int32_t tback = g.view(0, {vocab, dim}, vocab * dim * 4, &back_at);
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), tback, tbf), 0u) << g.last_error();
  for (uint32_t i = 0; i < vocab * dim; ++i) EXPECT_NEAR(g.at<float>(back_at)[i], table[i], std::fabs(table[i]) / 128);
}

TEST_P(HostApiOps, RuntimeAllocatedTensorsAreZeroedAndCopyable) {
  FakeGuest g(GetParam());
  std::mt19937 rng(5);
  float* src;
  const int32_t tsrc = g.random_f32({16}, rng, &src);
  const uint32_t shape_at = g.alloc(4);
  *g.at<uint32_t>(shape_at) = 16;
  const int32_t tdev = static_cast<int32_t>(Z_samepageZ_tensor_alloc(g.ctx(), 0, 1, shape_at, 2));
  ASSERT_GT(tdev, 0) << g.last_error();
  uint32_t o = 0;
  const int32_t tout = g.view(0, {16}, 64, &o);
  for (int i = 0; i < 16; ++i) g.at<float>(o)[i] = 5;
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), tout, tdev), 0u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(g.at<float>(o)[i], 0.0f);  // zeroed
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), tdev, tsrc), 0u);
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), tout, tdev), 0u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(g.at<float>(o)[i], src[i]);
}

INSTANTIATE_TEST_SUITE_P(BothModes, HostApiOps,
                         ::testing::Values(MemoryMode::MemoryMode_shared, MemoryMode::MemoryMode_copy),
                         [](const ::testing::TestParamInfo<MemoryMode>& i) { return std::string(memory_mode_name(i.param)); });

TEST(HostApi, SharedModeTouchesGuestBytesInPlace) {
  for (MemoryMode mode : {MemoryMode::MemoryMode_shared, MemoryMode::MemoryMode_copy}) {
    FakeGuest g(mode);
    std::mt19937 rng(6);
    const int32_t ta = g.random_f32({8}, rng);
    uint32_t o = 0;
    const int32_t tout = g.view(0, {8}, 32, &o);
    ASSERT_EQ(Z_samepageZ_scale(g.ctx(), tout, ta, 2.0f), 0u);
    const uint32_t info_at = g.alloc(48);
    ASSERT_EQ(Z_samepageZ_tensor_info(g.ctx(), tout, info_at), 0u);
    const int32_t zero_copy = *reinterpret_cast<int32_t*>(g.base() + info_at + 40);
    EXPECT_EQ(zero_copy, mode == MemoryMode::MemoryMode_shared ? 1 : 0) << memory_mode_name(mode);
  }
}

TEST(HostApi, RecordedSequenceReplaysWithParameters) {
  FakeGuest g;
  std::mt19937 rng(7);
  const uint32_t n_heads = 2, dim = 4;
  const int32_t tq = g.random_f32({1, n_heads, dim}, rng);
  uint32_t a = 0, b = 0;
  const int32_t ta = g.view(0, {1, n_heads, dim}, n_heads * dim * 4, &a);
  const int32_t tb = g.view(0, {1, n_heads, dim}, n_heads * dim * 4, &b);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_rope(g.ctx(), ta, tq, static_cast<uint32_t>(SP_PARAM_BASE - 0), 10000.0f, 1.0f, 1), 0u)
      << g.last_error();
  const int32_t seq = static_cast<int32_t>(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(seq, 0);
  const uint32_t params_at = g.alloc(4);
  for (int32_t pos : {0, 5, 123}) {
    *g.at<int32_t>(params_at) = pos;
    ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
    ASSERT_EQ(Z_samepageZ_rope(g.ctx(), tb, tq, pos, 10000.0f, 1.0f, 1), 0u);
    EXPECT_EQ(std::memcmp(g.base() + a, g.base() + b, n_heads * dim * 4), 0) << "pos " << pos;
  }
  // Missing parameters and unknown sequences are errors.
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_replay(g.ctx(), seq, params_at, 0)), SP_ERR_ARG);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_replay(g.ctx(), seq + 1, params_at, 1)), SP_ERR_HANDLE);
  // A freed operand makes the replay fail cleanly.
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), tq), 0u);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_replay(g.ctx(), seq, params_at, 1)), SP_ERR_STATE);
}

TEST(HostApi, ValidationNamesTheProblem) {
  FakeGuest g;
  std::mt19937 rng(8);
  const int32_t ta = g.random_f32({4, 32}, rng);
  const int32_t tb = g.random_f32({4, 31}, rng);
  const int32_t tw = g.random_f32({8, 32}, rng);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_add(g.ctx(), ta, ta, tb)), SP_ERR_SHAPE);
  EXPECT_NE(g.last_error().find("add"), std::string::npos);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_matmul(g.ctx(), ta, ta, tw)), SP_ERR_SHAPE);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_matmul(g.ctx(), ta, ta, 9999)), SP_ERR_HANDLE);
  // A view past the end of memory, and a shape pointer past it.
  const uint32_t shape_at = g.alloc(8);
  g.at<uint32_t>(shape_at)[0] = 1024;
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), static_cast<uint32_t>(g.size_bytes()) - 100, 0, 1,
                                                        shape_at, 0)),
            SP_ERR_RANGE);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), 0, 0, 1, 0xfffffffeu, 0)), SP_ERR_RANGE);
  // Quant rows must be whole blocks.
  g.at<uint32_t>(shape_at)[0] = 33;
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), 65536, 3, 1, shape_at, 0)), SP_ERR_SHAPE);
  // The message reaches guest memory, NUL-terminated and truncated to the buffer.
  const uint32_t buf = g.alloc(8);
  const int32_t n = static_cast<int32_t>(Z_samepageZ_last_error(g.ctx(), buf, 8));
  EXPECT_EQ(n, 7);
  EXPECT_EQ(g.at<char>(buf)[7], '\0');
}

// A view must sit at an address aligned to its element (2 bytes for the
// quant blocks, whose f16 scale comes first): kernels load whole elements.
TEST(HostApi, MisalignedViewsAreRefused) {
  FakeGuest g;
  const uint32_t shape_at = g.alloc(8);
  g.at<uint32_t>(shape_at)[0] = 2;
  g.at<uint32_t>(shape_at)[1] = 32;
  const uint32_t data_at = g.alloc(4096);  // 64-byte aligned
  const struct {
    int32_t dtype;
    uint32_t alignment;
  } cases[] = {{0, 4}, {1, 2}, {2, 2}, {3, 2}, {4, 2}, {5, 2}, {6, 4}};
  for (const auto& c : cases) {
    for (uint32_t off = 1; off < c.alignment; ++off) {
      EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), data_at + off, c.dtype, 2, shape_at, 0)),
                SP_ERR_ARG)
          << c.dtype << " at +" << off;
      EXPECT_NE(g.last_error().find("aligned"), std::string::npos) << g.last_error();
    }
    EXPECT_GT(static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), data_at + c.alignment, c.dtype, 2, shape_at, 0)), 0)
        << c.dtype << ": " << g.last_error();
  }
}

// NaN is ignored; a row with nothing else gives index 0 (samepage.h).
TEST(HostApi, ArgmaxIgnoresNanAndAllNanRowGivesZero) {
  FakeGuest g;
  uint32_t at = 0;
  const int32_t t = g.view(0, {5, 4}, 5 * 4 * 4, &at);
  ASSERT_GT(t, 0) << g.last_error();
  const float nan = std::nanf("");
  const float rows[20] = {nan,       nan, nan,       nan,       nan,       -INFINITY, nan,      -1.0f,    nan, 2.0f,
                          2.0f,      nan, -INFINITY, nan,       -INFINITY, nan,       1.0f,     INFINITY, nan, INFINITY};
  std::memcpy(g.at<float>(at), rows, sizeof(rows));
  uint32_t idx = 0;
  const int32_t tidx = g.view(DType_i32, {5}, 20, &idx);
  std::memset(g.at<int32_t>(idx), 0x55, 20);
  ASSERT_EQ(Z_samepageZ_argmax(g.ctx(), tidx, t), 0u) << g.last_error();
  EXPECT_EQ(g.at<int32_t>(idx)[0], 0);
  EXPECT_EQ(g.at<int32_t>(idx)[1], 3);
  EXPECT_EQ(g.at<int32_t>(idx)[2], 1);
  EXPECT_EQ(g.at<int32_t>(idx)[3], 0);  // -inf is a value: the first one
  EXPECT_EQ(g.at<int32_t>(idx)[4], 1);  // the first of two +inf
}

}  // namespace
}  // namespace samepage

namespace samepage {
namespace {

// Quantized weights reach the kernels with the right layout through the API:
// the guest's GGUF blocks (built here by the backend's own quantizer) give
// the product with the dequantized weights, within the q8 activation bound.
TEST(HostApi, MatmulWithEveryWeightDtype) {
  using test::FakeGuest;
  for (int32_t dtype = 0; dtype <= 5; ++dtype) {
    FakeGuest g;
    std::mt19937 rng(20 + dtype);
    const uint32_t m = 2, n = 9, k = 64;
    float* x;
    const int32_t tx = g.random_f32({m, k}, rng, &x);
    const uint64_t row_bytes = tensor_bytes(static_cast<DType>(dtype), 1, std::vector<int64_t>{k}.data());
    uint32_t w_at = 0;
    const int32_t tw = g.view(dtype, {n, k}, row_bytes * n, &w_at);
    ASSERT_GT(tw, 0) << dtype << ": " << g.last_error();
    // Fill W through the API itself: f32 rows copied into the weight dtype.
    float* wf;
    const int32_t twf = g.random_f32({n, k}, rng, &wf);
    if (dtype <= 2) {
      ASSERT_EQ(Z_samepageZ_copy(g.ctx(), tw, twf), 0u) << g.last_error();
    } else {
      ASSERT_EQ(static_cast<int32_t>(Z_samepageZ_copy(g.ctx(), tw, twf)), SP_ERR_DTYPE);  // f32 → quant is not a copy
      for (uint32_t r = 0; r < n; ++r)
        ASSERT_TRUE(cpu_quantize_row_for_test(dtype, wf + r * k, g.base() + w_at + r * row_bytes, k));
    }
    // Dequantize W back through the API (embedding of every row) for the reference.
    uint32_t tok_at = 0, deq_at = 0;
    const int32_t ttok = g.view(6, {n}, n * 4, &tok_at);
    for (uint32_t r = 0; r < n; ++r) g.at<int32_t>(tok_at)[r] = static_cast<int32_t>(r);
    const int32_t tdeq = g.view(0, {n, k}, n * k * 4, &deq_at);
    ASSERT_EQ(Z_samepageZ_embedding(g.ctx(), tdeq, tw, ttok), 0u) << g.last_error();
    uint32_t out_at = 0;
    const int32_t tout = g.view(0, {m, n}, m * n * 4, &out_at);
    ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), tout, tx, tw), 0u) << dtype << ": " << g.last_error();
    const float* deq = g.at<float>(deq_at);
    for (uint32_t i = 0; i < m; ++i)
      for (uint32_t j = 0; j < n; ++j) {
        double ref = 0, mag = 0;
        for (uint32_t q = 0; q < k; ++q) {
          ref += double(x[i * k + q]) * deq[j * k + q];
          mag += std::fabs(double(x[i * k + q]) * deq[j * k + q]);
        }
        // Quant types see x rounded to 8-bit blocks: at most |w|·amax(x)/254 per
        // element, below 1% of Σ|x·w| for these inputs; float types: f32 rounding.
        const double tol = dtype >= 3 ? 1e-2 * mag : 1e-5 * mag;
        EXPECT_NEAR(g.at<float>(out_at)[i * n + j], ref, tol) << "dtype " << dtype << " at " << i << "," << j;
      }
  }
}

}  // namespace
}  // namespace samepage

namespace samepage {
namespace {

using test::FakeGuest;

TEST(HostApi, HostNeverWritesReadOnlyGuestPages) {
  FakeGuest g;
  // A const view over whole pages, then a plain view of the same bytes.
  const uint32_t at = (g.alloc(4 * 4096 * 4 + 4096) + 4095) / 4096 * 4096;  // whole pages of our own
  const uint32_t shape_at = g.alloc(8);
  g.at<uint32_t>(shape_at)[0] = 4;
  g.at<uint32_t>(shape_at)[1] = 4096;
  const int32_t tconst = static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), at, 0, 2, shape_at, SP_CONST));
  ASSERT_GT(tconst, 0) << g.last_error();
  EXPECT_FALSE(g.memory().is_writable(at, 4));
  const int32_t talias = static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), at, 0, 2, shape_at, 0));
  ASSERT_GT(talias, 0);
  std::mt19937 rng(9);
  const int32_t tx = g.random_f32({4, 4096}, rng);
  // Writing through the alias would fault on the protected pages: refused instead.
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_scale(g.ctx(), talias, tx, 2.0f)), SP_ERR_ARG);
  EXPECT_NE(g.last_error().find("read-only"), std::string::npos) << g.last_error();
  // So are the API's own stores into those pages.
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_tensor_info(g.ctx(), tx, at)), SP_ERR_RANGE);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_stats(g.ctx(), at + 64)), SP_ERR_RANGE);
  // Freeing the const view makes the pages writable again.
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), tconst), 0u);
  EXPECT_TRUE(g.memory().is_writable(at, 4));
  EXPECT_EQ(Z_samepageZ_scale(g.ctx(), talias, tx, 2.0f), 0u) << g.last_error();
}

TEST(HostApi, PartialOverlapIsRefusedButInPlaceIsAllowed) {
  FakeGuest g;
  std::mt19937 rng(10);
  float* a;
  const int32_t ta = g.random_f32({64}, rng, &a);
  const uint32_t a_at = static_cast<uint32_t>(reinterpret_cast<uint8_t*>(a) - g.base());
  const uint32_t shape_at = g.alloc(4);
  *g.at<uint32_t>(shape_at) = 64;
  const int32_t shifted = static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), a_at + 16, 0, 1, shape_at, 0));
  ASSERT_GT(shifted, 0);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_add(g.ctx(), shifted, ta, ta)), SP_ERR_ARG);
  EXPECT_EQ(Z_samepageZ_add(g.ctx(), ta, ta, ta), 0u) << g.last_error();  // exactly in place: fine
  // A matmul may not write its own input.
  const uint32_t sq_at = g.alloc(8);
  g.at<uint32_t>(sq_at)[0] = 8;
  g.at<uint32_t>(sq_at)[1] = 8;
  const int32_t tsq = static_cast<int32_t>(Z_samepageZ_tensor_alloc(g.ctx(), 0, 2, sq_at, 0));
  ASSERT_GT(tsq, 0);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_matmul(g.ctx(), tsq, tsq, tsq)), SP_ERR_ARG);
}

TEST(HostApi, AttentionContextIsBounded) {
  FakeGuest g;
  const uint32_t shape_at = g.alloc(16);
  uint32_t* shape = g.at<uint32_t>(shape_at);
  shape[0] = (1u << 20) + 1;  // positions
  shape[1] = 1;
  shape[2] = 2;
  // A huge f16 cache fits in a 4 GiB guest but would make the kernel allocate
  // per-position scores on every thread: refused before it runs.
  const int32_t tk = static_cast<int32_t>(Z_samepageZ_tensor_alloc(g.ctx(), 1, 3, shape_at, 0));
  ASSERT_GT(tk, 0) << g.last_error();
  std::mt19937 rng(12);
  const int32_t tq = g.random_f32({1, 1, 2}, rng);
  uint32_t o = 0;
  const int32_t tout = g.view(0, {1, 1, 2}, 8, &o);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_attention(g.ctx(), tout, tq, tk, tk, 1u << 20)), SP_ERR_SHAPE);
}

}  // namespace
}  // namespace samepage
