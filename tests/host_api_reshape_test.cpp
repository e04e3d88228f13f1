// sp_tensor_reshape (aliases share their storage, which lives until the last
// handle on it goes), sp_add's one-row broadcast and sp_rope_ext's frequency
// factors: results against float64, and the rules a hostile guest meets.
#include <cmath>

#include "host_api_fixture.h"

namespace samepage {
namespace {

using test::FakeGuest;

// Writes shape into fresh guest memory; returns its address.
uint32_t put_shape(FakeGuest& g, std::vector<uint32_t> shape) {
  const uint32_t at = g.alloc(16);
  std::memcpy(g.base() + at, shape.data(), shape.size() * 4);
  return at;
}
int32_t reshape(FakeGuest& g, int32_t handle, std::vector<uint32_t> shape) {
  const uint32_t at = put_shape(g, shape);
  return static_cast<int32_t>(Z_samepageZ_tensor_reshape(g.ctx(), uint32_t(handle), uint32_t(shape.size()), at));
}
int32_t alloc_f32(FakeGuest& g, std::vector<uint32_t> shape) {
  const uint32_t at = put_shape(g, shape);
  return static_cast<int32_t>(Z_samepageZ_tensor_alloc(g.ctx(), SP_F32, uint32_t(shape.size()), at, SP_DEVICE));
}
sp_tensor_info info_of(FakeGuest& g, int32_t handle) {
  const uint32_t at = g.alloc(sizeof(sp_tensor_info));
  EXPECT_EQ(Z_samepageZ_tensor_info(g.ctx(), uint32_t(handle), at), 0u) << g.last_error();
  return *g.at<sp_tensor_info>(at);
}

class Reshape : public ::testing::TestWithParam<MemoryMode> {};

TEST_P(Reshape, AliasOfARuntimeTensorOutlivesItsBase) {
  FakeGuest g(GetParam());
  std::mt19937 rng(1);
  float* src = nullptr;
  const int32_t x = g.random_f32({3, 8}, rng, &src);
  const int32_t base = alloc_f32(g, {3, 8});
  ASSERT_GT(base, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), base, x), 0u) << g.last_error();
  uint32_t out_at = 0;
  const int32_t out = g.view(SP_F32, {24}, 96, &out_at);
  const uint64_t charged = g.api().account().used_bytes();
  const int32_t alias = reshape(g, base, {2, 3, 4});
  ASSERT_GT(alias, 0) << g.last_error();
  const sp_tensor_info info = info_of(g, alias);
  EXPECT_EQ(info.n_dims, 3);
  EXPECT_EQ(info.shape[0], 2u);
  EXPECT_EQ(info.shape[2], 4u);
  EXPECT_EQ(info.n_bytes, 96u);
  EXPECT_EQ(g.api().account().used_bytes(), charged) << "an alias costs no storage";

  // The base goes; the alias still reads the bytes (and still holds the charge).
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), base), 0u);
  EXPECT_EQ(g.api().account().used_bytes(), charged);
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), out, alias), 0u) << g.last_error();
  EXPECT_EQ(std::memcmp(g.at<float>(out_at), src, 96), 0);
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), alias), 0u);
  EXPECT_EQ(g.api().account().used_bytes(), charged - 96) << "the last handle releases the storage";
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_copy(g.ctx(), out, alias)), SP_ERR_HANDLE);
}

TEST_P(Reshape, AliasIsTheSameBytesToOps) {
  FakeGuest g(GetParam());
  std::mt19937 rng(2);
  float* src = nullptr;
  const int32_t x = g.random_f32({2, 12}, rng, &src);
  const std::vector<float> before(src, src + 24);
  const int32_t q2 = alloc_f32(g, {2, 12});
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), q2, x), 0u) << g.last_error();
  const int32_t q3 = reshape(g, q2, {2, 3, 4});
  ASSERT_GT(q3, 0) << g.last_error();
  // rope through the alias, in place: the base sees the rotation.
  ASSERT_EQ(Z_samepageZ_rope(g.ctx(), q3, q3, 5, 10000.0f, 1.0f, SP_ROPE_NEOX), 0u) << g.last_error();
  uint32_t out_at = 0;
  const int32_t out = g.view(SP_F32, {2, 12}, 96, &out_at);
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), out, q2), 0u) << g.last_error();
  for (uint32_t t = 0; t < 2; ++t)
    for (uint32_t h = 0; h < 3; ++h)
      for (uint32_t i = 0; i < 2; ++i) {
        const double theta = (5.0 + t) * std::pow(10000.0, -2.0 * i / 4);
        const size_t b = (t * 3 + h) * 4;
        const double a0 = before[b + i], a1 = before[b + i + 2];
        EXPECT_NEAR(g.at<float>(out_at)[b + i], a0 * std::cos(theta) - a1 * std::sin(theta), 1e-5);
        EXPECT_NEAR(g.at<float>(out_at)[b + i + 2], a0 * std::sin(theta) + a1 * std::cos(theta), 1e-5);
      }
  // In place across handles: out = the alias, input = the base.
  EXPECT_EQ(Z_samepageZ_scale(g.ctx(), q3, q2, 2.0f), 0u) << g.last_error();
  EXPECT_EQ(Z_samepageZ_rope(g.ctx(), q3, q3, 0, 10000.0f, 1.0f, 0), 0u) << g.last_error();
  // An op that must not read what it writes refuses the alias like its own handle.
  std::mt19937 wrng(3);
  const int32_t w = g.random_f32({12, 12}, wrng);
  const int32_t flat = reshape(g, q2, {2, 12});
  ASSERT_GT(flat, 0);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_matmul(g.ctx(), q2, flat, w)), SP_ERR_ARG);
  EXPECT_NE(g.last_error().find("overlaps"), std::string::npos) << g.last_error();
}

TEST_P(Reshape, BadReshapesAreRefused) {
  FakeGuest g(GetParam());
  std::mt19937 rng(4);
  const int32_t x = g.random_f32({4, 64}, rng);
  EXPECT_EQ(reshape(g, x, {4, 63}), SP_ERR_SHAPE);
  EXPECT_NE(g.last_error().find("elements"), std::string::npos) << g.last_error();
  EXPECT_EQ(reshape(g, x, {4, 64, 2}), SP_ERR_SHAPE);
  EXPECT_EQ(reshape(g, x, {0, 256}), SP_ERR_SHAPE);
  EXPECT_EQ(reshape(g, x, {1, 1, 1, 1, 256}), SP_ERR_ARG);  // 5 dims
  EXPECT_EQ(reshape(g, 0, {256}), SP_ERR_HANDLE);
  EXPECT_EQ(reshape(g, 9999, {256}), SP_ERR_HANDLE);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_tensor_reshape(g.ctx(), uint32_t(x), 1, 0xfffffff0u)), SP_ERR_RANGE);
  // Quant rows stay whole blocks: q8_0 (2, 64) → (128) is fine, → (4, 32) too, → (8, 16) is not.
  uint32_t qat = 0;
  const int32_t q = g.view(SP_Q8_0, {2, 64}, 4 * 34, &qat);
  ASSERT_GT(q, 0) << g.last_error();
  EXPECT_GT(reshape(g, q, {128}), 0) << g.last_error();
  EXPECT_GT(reshape(g, q, {4, 32}), 0) << g.last_error();
  EXPECT_EQ(reshape(g, q, {8, 16}), SP_ERR_SHAPE);
}

TEST(Reshape, ConstViewStaysProtectedWhileAnAliasLives) {
  FakeGuest g;
  const uint32_t at = (g.alloc(4 * 4096 * 4 + 4096) + 4095) / 4096 * 4096;  // whole pages of our own
  const uint32_t shape_at = put_shape(g, {4, 4096});
  const int32_t base = static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), at, SP_F32, 2, shape_at, SP_CONST));
  ASSERT_GT(base, 0) << g.last_error();
  const int32_t alias = reshape(g, base, {16384});
  ASSERT_GT(alias, 0) << g.last_error();
  EXPECT_EQ(info_of(g, alias).write_protected, 1);
  EXPECT_EQ(info_of(g, alias).flags, SP_CONST);
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), base), 0u);
  EXPECT_FALSE(g.memory().is_writable(at, 4)) << "the alias keeps the pages read-only";
  std::mt19937 rng(5);
  const int32_t x = g.random_f32({16384}, rng);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_scale(g.ctx(), alias, x, 2.0f)), SP_ERR_ARG);  // const: never written
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), alias), 0u);
  EXPECT_TRUE(g.memory().is_writable(at, 4)) << "the last handle reopens them";
}

TEST(Reshape, SequencesNameHandlesNotStorage) {
  FakeGuest g;
  std::mt19937 rng(6);
  const int32_t x = g.random_f32({2, 8}, rng);
  const int32_t base = alloc_f32(g, {2, 8});
  const int32_t alias = reshape(g, base, {2, 2, 4});
  ASSERT_GT(alias, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), alias, x), 0u) << g.last_error();
  ASSERT_EQ(Z_samepageZ_rope(g.ctx(), alias, alias, uint32_t(SP_PARAM(0)), 10000.0f, 1.0f, 0), 0u) << g.last_error();
  const int32_t seq = static_cast<int32_t>(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(seq, 0) << g.last_error();
  const uint32_t params = g.alloc(4);
  *g.at<int32_t>(params) = 3;
  // The sequence uses only the alias: freeing the base leaves it runnable.
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), base), 0u);
  EXPECT_EQ(Z_samepageZ_replay(g.ctx(), seq, params, 1), 0u) << g.last_error();
  // Freeing the alias (the last handle) breaks it, saying why.
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), alias), 0u);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_replay(g.ctx(), seq, params, 1)), SP_ERR_STATE);
  EXPECT_NE(g.last_error().find("freed"), std::string::npos) << g.last_error();

  // A recording that used a handle freed mid-recording fails at record_end, even with the storage alive.
  const int32_t b2 = alloc_f32(g, {2, 8});
  const int32_t a2 = reshape(g, b2, {16});
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), b2, x), 0u) << g.last_error();
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), b2), 0u);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_record_end(g.ctx())), SP_ERR_STATE);
  EXPECT_EQ(Z_samepageZ_tensor_free(g.ctx(), a2), 0u);
}

TEST_P(Reshape, AddBroadcastsOneRow) {
  FakeGuest g(GetParam());
  std::mt19937 rng(7);
  float *a, *b;
  const int32_t ta = g.random_f32({3, 5}, rng, &a);
  const int32_t tb = g.random_f32({5}, rng, &b);
  uint32_t out_at = 0;
  const int32_t out = g.view(SP_F32, {3, 5}, 60, &out_at);
  ASSERT_EQ(Z_samepageZ_add(g.ctx(), out, ta, tb), 0u) << g.last_error();
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 5; ++i) EXPECT_EQ(g.at<float>(out_at)[r * 5 + i], a[r * 5 + i] + b[i]);
  // Refused: a row of another length, two rows, b as the output, b overlapping the output.
  const int32_t t4 = g.random_f32({4}, rng);
  const int32_t t2x5 = g.random_f32({2, 5}, rng);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_add(g.ctx(), out, ta, t4)), SP_ERR_SHAPE);
  EXPECT_NE(g.last_error().find("one row"), std::string::npos) << g.last_error();
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_add(g.ctx(), out, ta, t2x5)), SP_ERR_SHAPE);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_add(g.ctx(), tb, ta, tb)), SP_ERR_SHAPE);
  const int32_t row_of_out = static_cast<int32_t>(
      Z_samepageZ_tensor_view(g.ctx(), out_at + 20, SP_F32, 1, put_shape(g, {5}), 0));
  ASSERT_GT(row_of_out, 0);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_add(g.ctx(), out, ta, row_of_out)), SP_ERR_ARG);
}

TEST_P(Reshape, RopeFactorsDivideTheAngles) {
  FakeGuest g(GetParam());
  std::mt19937 rng(8);
  const uint32_t n_tok = 2, n_heads = 3, dim = 8;
  float *x, *f;
  const int32_t tx = g.random_f32({n_tok, n_heads, dim}, rng, &x);
  const int32_t tf = g.random_f32({dim / 2}, rng, &f);
  for (uint32_t i = 0; i < dim / 2; ++i) f[i] = 1.0f + 7.0f * std::fabs(f[i]);
  uint32_t out_at = 0;
  const int32_t out = g.view(SP_F32, {n_tok, n_heads, dim}, n_tok * n_heads * dim * 4, &out_at);
  ASSERT_EQ(Z_samepageZ_rope_ext(g.ctx(), out, tx, tf, 11, 500000.0f, 0.5f, SP_ROPE_NORMAL), 0u) << g.last_error();
  for (uint32_t t = 0; t < n_tok; ++t)
    for (uint32_t h = 0; h < n_heads; ++h)
      for (uint32_t i = 0; i < dim / 2; ++i) {
        const double theta = (11.0 + t) * 0.5 * std::pow(500000.0, -2.0 * i / dim) / f[i];
        const size_t b = (t * n_heads + h) * dim;
        const double a0 = x[b + 2 * i], a1 = x[b + 2 * i + 1];
        EXPECT_NEAR(g.at<float>(out_at)[b + 2 * i], a0 * std::cos(theta) - a1 * std::sin(theta), 1e-5);
        EXPECT_NEAR(g.at<float>(out_at)[b + 2 * i + 1], a0 * std::sin(theta) + a1 * std::cos(theta), 1e-5);
      }
  // Factors of the wrong count or dtype, a dead handle, factors overlapping the output.
  const int32_t t5 = g.random_f32({5}, rng);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_rope_ext(g.ctx(), out, tx, t5, 0, 1e4f, 1.0f, 0)), SP_ERR_SHAPE);
  EXPECT_NE(g.last_error().find("factors"), std::string::npos) << g.last_error();
  const int32_t ti = g.view(SP_I32, {4}, 16);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_rope_ext(g.ctx(), out, tx, ti, 0, 1e4f, 1.0f, 0)), SP_ERR_DTYPE);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_rope_ext(g.ctx(), out, tx, 0, 0, 1e4f, 1.0f, 0)), SP_ERR_HANDLE);
  const int32_t in_out = static_cast<int32_t>(
      Z_samepageZ_tensor_view(g.ctx(), out_at, SP_F32, 1, put_shape(g, {4}), 0));
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_rope_ext(g.ctx(), out, tx, in_out, 0, 1e4f, 1.0f, 0)), SP_ERR_ARG);
  // Zero factors are the guest's business: NaN or inf out, never a fault.
  std::memset(f, 0, dim / 2 * 4);
  EXPECT_EQ(Z_samepageZ_rope_ext(g.ctx(), out, tx, tf, 3, 1e4f, 1.0f, 0), 0u) << g.last_error();
}

INSTANTIATE_TEST_SUITE_P(Modes, Reshape,
                         ::testing::Values(MemoryMode::MemoryMode_shared, MemoryMode::MemoryMode_copy),
                         [](const ::testing::TestParamInfo<MemoryMode>& i) {
                           return std::string(memory_mode_name(i.param));
                         });

}  // namespace
}  // namespace samepage
