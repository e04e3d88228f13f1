// The imports a model guest needs: set_rows at a parameter, argmax into an
// i32 tensor, sequences that validate only their parameters, identities that
// catch a freed and reused handle, and file mappings.
#include <fcntl.h>
#include <unistd.h>

#include <cmath>

#include "backends/cpu/dtype.h"
#include "host_api_fixture.h"

namespace samepage {
namespace {

using test::FakeGuest;

int32_t rc_of(uint32_t r) { return static_cast<int32_t>(r); }
uint32_t param(int32_t i) { return static_cast<uint32_t>(SP_PARAM(i)); }

TEST(HostApiSequence, SetRowsWritesConvertedRowsAtAParameter) {
  FakeGuest g;
  std::mt19937 rng(30);
  float* src;
  const uint32_t n_ctx = 6, n_kv = 2, dim = 4;
  const int32_t tsrc = g.random_f32({1, n_kv, dim}, rng, &src);
  uint32_t cache_at = 0;
  const int32_t tcache = g.view(DType_f16, {n_ctx, n_kv, dim}, n_ctx * n_kv * dim * 2, &cache_at);
  ASSERT_GT(tcache, 0);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), tcache, tsrc, param(0)), 0u) << g.last_error();
  const int32_t seq = rc_of(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(seq, 0) << g.last_error();
  const uint32_t params_at = g.alloc(4);
  for (int32_t row : {5, 0, 3}) {
    *g.at<int32_t>(params_at) = row;
    ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
    const uint16_t* written = g.at<uint16_t>(cache_at) + row * n_kv * dim;
    for (uint32_t i = 0; i < n_kv * dim; ++i) EXPECT_EQ(written[i], cpu::f32_to_f16(src[i])) << row << " " << i;
  }
  // Row 6 of 6, or a negative row, lies outside the range found at record_end.
  for (int32_t row : {6, -1, INT32_MAX}) {
    *g.at<int32_t>(params_at) = row;
    EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, params_at, 1)), SP_ERR_ARG) << row;
    EXPECT_NE(g.last_error().find("[0, 5]"), std::string::npos) << g.last_error();
  }
  // Eager calls check the same bounds; rows must hold as many elements.
  EXPECT_EQ(rc_of(Z_samepageZ_set_rows(g.ctx(), tcache, tsrc, 6)), SP_ERR_ARG);
  const int32_t wide = g.random_f32({1, n_kv, dim + 2}, rng);
  EXPECT_EQ(rc_of(Z_samepageZ_set_rows(g.ctx(), tcache, wide, 0)), SP_ERR_SHAPE);
  const int32_t tquant = g.view(DType_q8_0, {n_ctx, 32}, n_ctx * 34);
  const int32_t src32 = g.random_f32({1, 32}, rng);
  EXPECT_EQ(rc_of(Z_samepageZ_set_rows(g.ctx(), tquant, src32, 0)), SP_ERR_DTYPE);
}

// set_rows takes f16 and bf16 rows too (a session restore writes saved rows
// as they are): the same dtype moves bits (a signalling NaN stays one),
// another converts as copy does, eagerly and at a replay parameter.
TEST(HostApiSequence, SetRowsTakesHalfRowsAsTheyAre) {
  FakeGuest g;
  std::mt19937 rng(31);
  const uint32_t n_ctx = 5, row = 2 * 8;
  for (DType from : {DType_f16, DType_bf16})
    for (DType to : {DType_f16, DType_bf16, DType_f32}) {
      uint32_t src_at = 0, cache_at = 0;
      const int32_t tsrc = g.view(from, {2, 2, 8}, 2 * row * 2, &src_at);
      const size_t to_bytes = to == DType_f32 ? 4 : 2;
      const int32_t tcache = g.view(to, {n_ctx, 2, 8}, n_ctx * row * to_bytes, &cache_at);
      ASSERT_GT(tsrc, 0);
      ASSERT_GT(tcache, 0);
      uint16_t* src = g.at<uint16_t>(src_at);
      std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
      for (uint32_t i = 0; i < 2 * row; ++i)
        src[i] = from == DType_f16 ? cpu::f32_to_f16(dist(rng)) : cpu::f32_to_bf16(dist(rng));
      src[3] = from == DType_f16 ? 0x7d01 : 0x7f81;  // signalling NaN: a conversion would quiet it
      auto check = [&](int32_t row0) {
        for (uint32_t i = 0; i < 2 * row; ++i) {
          const float v = from == DType_f16 ? cpu::f16_to_f32(src[i]) : cpu::bf16_to_f32(src[i]);
          const size_t at = size_t(row0) * row + i;
          if (to == from) EXPECT_EQ(g.at<uint16_t>(cache_at)[at], src[i]) << i;
          else if (to == DType_f32 && i != 3) EXPECT_EQ(g.at<float>(cache_at)[at], v) << i;
          else if (to == DType_f32) EXPECT_TRUE(std::isnan(g.at<float>(cache_at)[at]));
          else if (i == 3) EXPECT_TRUE(std::isnan(to == DType_f16 ? cpu::f16_to_f32(g.at<uint16_t>(cache_at)[at])
                                                                 : cpu::bf16_to_f32(g.at<uint16_t>(cache_at)[at])));
          else EXPECT_EQ(g.at<uint16_t>(cache_at)[at], to == DType_f16 ? cpu::f32_to_f16(v) : cpu::f32_to_bf16(v)) << i;
        }
      };
      ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), tcache, tsrc, 3), 0u) << g.last_error();
      check(3);
      ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
      ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), tcache, tsrc, param(0)), 0u) << g.last_error();
      const int32_t seq = rc_of(Z_samepageZ_record_end(g.ctx()));
      ASSERT_GT(seq, 0) << g.last_error();
      const uint32_t params_at = g.alloc(4);
      *g.at<int32_t>(params_at) = 1;
      ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
      check(1);
      *g.at<int32_t>(params_at) = 4;  // two rows from row 4 of 5
      EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, params_at, 1)), SP_ERR_ARG);
      EXPECT_EQ(Z_samepageZ_sequence_free(g.ctx(), uint32_t(seq)), 0u);
    }
  // Integers and quantized blocks are no rows to write.
  const int32_t ints = g.view(DType_i32, {1, 32}, 128);
  const int32_t cache = g.view(DType_f32, {4, 32}, 4 * 128);
  EXPECT_EQ(rc_of(Z_samepageZ_set_rows(g.ctx(), cache, ints, 0)), SP_ERR_DTYPE);
  EXPECT_NE(g.last_error().find("f32, f16 or bf16"), std::string::npos) << g.last_error();
  const int32_t quant = g.view(DType_q8_0, {1, 32}, 34);
  EXPECT_EQ(rc_of(Z_samepageZ_set_rows(g.ctx(), cache, quant, 0)), SP_ERR_DTYPE);
}

// get_rows reads a runtime cache's rows back out (a session snapshot): in its
// own dtype bit for bit, into f32 exactly, at a parameter; hostile rows,
// shapes and dtypes are refused with a code and a message.
TEST(HostApiSequence, GetRowsReadsRuntimeRowsBackAtAParameter) {
  FakeGuest g;
  std::mt19937 rng(32);
  float* src;
  const uint32_t n_ctx = 6, n_kv = 2, dim = 4, row = n_kv * dim;
  const int32_t tsrc = g.random_f32({n_ctx, n_kv, dim}, rng, &src);
  const uint32_t shape_at = g.alloc(12);
  const uint32_t shape[3] = {n_ctx, n_kv, dim};
  std::memcpy(g.base() + shape_at, shape, sizeof shape);
  const int32_t tcache = rc_of(Z_samepageZ_tensor_alloc(g.ctx(), uint32_t(DType_f16), 3, shape_at, 0));
  ASSERT_GT(tcache, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), tcache, tsrc, 0), 0u) << g.last_error();
  uint32_t half_at = 0, full_at = 0;
  const int32_t thalf = g.view(DType_f16, {2, n_kv, dim}, 2 * row * 2, &half_at);
  const int32_t tfull = g.view(DType_f32, {2, n_kv, dim}, 2 * row * 4, &full_at);
  ASSERT_GT(thalf, 0);
  ASSERT_GT(tfull, 0);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_get_rows(g.ctx(), thalf, tcache, param(0)), 0u) << g.last_error();
  ASSERT_EQ(Z_samepageZ_get_rows(g.ctx(), tfull, tcache, param(0)), 0u) << g.last_error();
  const int32_t seq = rc_of(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(seq, 0) << g.last_error();
  const uint32_t params_at = g.alloc(4);
  for (int32_t row0 : {4, 0, 3}) {
    *g.at<int32_t>(params_at) = row0;
    ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
    for (uint32_t i = 0; i < 2 * row; ++i) {
      const uint16_t h = cpu::f32_to_f16(src[row0 * row + i]);
      EXPECT_EQ(g.at<uint16_t>(half_at)[i], h) << row0 << " " << i;
      EXPECT_EQ(g.at<float>(full_at)[i], cpu::f16_to_f32(h)) << row0 << " " << i;
    }
  }
  for (int32_t row0 : {5, -1, INT32_MAX}) {
    *g.at<int32_t>(params_at) = row0;
    EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, params_at, 1)), SP_ERR_ARG) << row0;
    EXPECT_NE(g.last_error().find("[0, 4]"), std::string::npos) << g.last_error();
  }
  EXPECT_EQ(rc_of(Z_samepageZ_get_rows(g.ctx(), thalf, tcache, 5)), SP_ERR_ARG);
  EXPECT_EQ(rc_of(Z_samepageZ_get_rows(g.ctx(), thalf, tcache, -1)), SP_ERR_ARG);
  const int32_t wide = g.view(DType_f32, {1, n_kv, dim + 2}, row * 4 + 8);
  EXPECT_EQ(rc_of(Z_samepageZ_get_rows(g.ctx(), wide, tcache, 0)), SP_ERR_SHAPE);
  const int32_t tall = g.view(DType_f32, {7, n_kv, dim}, 7 * row * 4);
  EXPECT_EQ(rc_of(Z_samepageZ_get_rows(g.ctx(), tall, tcache, 0)), SP_ERR_SHAPE);
  const int32_t tokens = g.view(DType_i32, {2, row}, 2 * row * 4);
  EXPECT_EQ(rc_of(Z_samepageZ_get_rows(g.ctx(), tokens, tcache, 0)), SP_ERR_DTYPE);
  EXPECT_EQ(rc_of(Z_samepageZ_get_rows(g.ctx(), thalf, 9999, 0)), SP_ERR_HANDLE);
  EXPECT_EQ(rc_of(Z_samepageZ_get_rows(g.ctx(), tcache, tcache, 0)), SP_ERR_ARG);  // overlaps itself
  EXPECT_FALSE(g.last_error().empty());
}

TEST(HostApiSequence, ParameterRangesAreTheIntersectionOfTheirOps) {
  FakeGuest g;
  std::mt19937 rng(31);
  const uint32_t n_ctx = 8, heads = 2, dim = 4;
  const int32_t tq = g.random_f32({2, heads, dim}, rng);
  const int32_t tk = g.random_f32({n_ctx, heads, dim}, rng);
  const int32_t tv = g.random_f32({n_ctx, heads, dim}, rng);
  const int32_t tout = g.view(0, {2, heads, dim}, 2 * heads * dim * 4);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_rope(g.ctx(), tq, tq, param(0), 10000.0f, 1.0f, 0), 0u) << g.last_error();
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), tk, tq, param(0)), 0u) << g.last_error();
  ASSERT_EQ(Z_samepageZ_attention(g.ctx(), tout, tq, tk, tv, param(0)), 0u) << g.last_error();
  // A parameter in a place that takes none is refused when recorded.
  EXPECT_EQ(rc_of(Z_samepageZ_rope(g.ctx(), tq, tq, 0, 10000.0f, 1.0f, param(1))), SP_ERR_ARG);
  const int32_t seq = rc_of(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(seq, 0) << g.last_error();
  const uint32_t params_at = g.alloc(8);
  *g.at<int32_t>(params_at) = 6;  // 6 + 2 tokens = 8 rows: the largest allowed
  EXPECT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
  *g.at<int32_t>(params_at) = 7;
  EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, params_at, 1)), SP_ERR_ARG);
  EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, params_at, 0)), SP_ERR_ARG);  // too few
  // SP_PARAM outside a recording is an error, not a huge position.
  EXPECT_EQ(rc_of(Z_samepageZ_rope(g.ctx(), tq, tq, param(0), 10000.0f, 1.0f, 0)), SP_ERR_ARG);
}

TEST(HostApiSequence, FreedTensorBreaksTheSequenceEvenWhenItsHandleIsReused) {
  FakeGuest g;
  std::mt19937 rng(32);
  const int32_t ta = g.random_f32({16}, rng);
  uint32_t out_at = 0;
  const int32_t tout = g.view(0, {16}, 64, &out_at);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), tout, ta, 2.0f), 0u);
  const int32_t seq = rc_of(Z_samepageZ_record_end(g.ctx()));
  ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, 0, 0), 0u) << g.last_error();
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), ta), 0u);
  const int32_t reused = g.random_f32({16}, rng);
  ASSERT_EQ(reused, ta) << "the handle comes back";
  EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, 0, 0)), SP_ERR_STATE);
  EXPECT_NE(g.last_error().find("sequence " + std::to_string(seq) + " uses tensor " + std::to_string(ta)),
            std::string::npos)
      << g.last_error();
  EXPECT_NE(g.last_error().find("freed"), std::string::npos) << g.last_error();
  // A tensor freed while recording breaks the recording.
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), tout, reused, 2.0f), 0u);
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), reused), 0u);
  EXPECT_EQ(rc_of(Z_samepageZ_record_end(g.ctx())), SP_ERR_STATE);
  // sequence_free releases it; the handle is not a sequence afterwards.
  EXPECT_EQ(Z_samepageZ_sequence_free(g.ctx(), seq), 0u);
  EXPECT_EQ(rc_of(Z_samepageZ_sequence_free(g.ctx(), seq)), SP_ERR_HANDLE);
  EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, 0, 0)), SP_ERR_HANDLE);
}

TEST(HostApiSequence, OutputThatBecameReadOnlyAfterRecordingIsRefusedAtReplay) {
  FakeGuest g;
  std::mt19937 rng(33);
  const uint32_t at = (g.alloc(3 * 4096) + 4095) / 4096 * 4096;
  const uint32_t shape_at = g.alloc(4);
  *g.at<uint32_t>(shape_at) = 1024;
  const int32_t tout = rc_of(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, 0));
  const int32_t tx = g.random_f32({1024}, rng);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), tout, tx, 2.0f), 0u);
  const int32_t seq = rc_of(Z_samepageZ_record_end(g.ctx()));
  ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, 0, 0), 0u);
  const int32_t tconst = rc_of(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, SP_CONST));
  ASSERT_GT(tconst, 0) << g.last_error();
  EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, 0, 0)), SP_ERR_ARG);
  EXPECT_NE(g.last_error().find("read-only"), std::string::npos) << g.last_error();
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), tconst), 0u);
  EXPECT_EQ(Z_samepageZ_replay(g.ctx(), seq, 0, 0), 0u) << g.last_error();
}

TEST(HostApiSequence, ArgmaxWritesAnI32TensorAndChecksItsShape) {
  FakeGuest g;
  std::mt19937 rng(34);
  float* x;
  const int32_t tx = g.random_f32({3, 17}, rng, &x);
  uint32_t idx_at = 0;
  const int32_t tidx = g.view(DType_i32, {3}, 12, &idx_at);
  ASSERT_EQ(Z_samepageZ_argmax(g.ctx(), tidx, tx), 0u) << g.last_error();
  for (int r = 0; r < 3; ++r) EXPECT_EQ(g.at<int32_t>(idx_at)[r], std::max_element(x + r * 17, x + r * 17 + 17) - (x + r * 17));
  const int32_t wrong_count = g.view(DType_i32, {2}, 8);
  EXPECT_EQ(rc_of(Z_samepageZ_argmax(g.ctx(), wrong_count, tx)), SP_ERR_SHAPE);
  const int32_t wrong_dtype = g.view(DType_f32, {3}, 12);
  EXPECT_EQ(rc_of(Z_samepageZ_argmax(g.ctx(), wrong_dtype, tx)), SP_ERR_DTYPE);
}

TEST(HostApiSequence, MapFileValidatesBeforeMapping) {
  FakeGuest g;
  char path[] = "/tmp/samepage_map_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  std::vector<uint8_t> bytes(2 * 4096);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  g.add_file(5, fd);
  const uint32_t at = 4 * 65536;
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 6, 0, 4096, at)), SP_ERR_ARG);         // not open
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 5, 0, 4096, at + 64)), SP_ERR_ARG);    // unaligned address
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 5, 100, 4096, at)), SP_ERR_ARG);       // unaligned offset
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 5, 4096, 8192, at)), SP_ERR_ARG);      // past the file's end
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 5, 0, 0, at)), SP_ERR_ARG);            // empty
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 5, 0, 8192, static_cast<uint32_t>(g.size_bytes()) - 4096)),
            SP_ERR_RANGE);                                                              // past the memory
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 5, ~0ull - 4095, 4096, at)), SP_ERR_ARG);  // offset overflow
  ASSERT_EQ(Z_samepageZ_map_file(g.ctx(), 5, 0, 5000, at), 0u) << g.last_error();
  EXPECT_EQ(std::memcmp(g.base() + at, bytes.data(), 5000), 0);
  EXPECT_FALSE(g.memory().is_writable(at, 4));
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 5, 0, 4096, at + 4096)), SP_ERR_ARG);  // over the mapping
  // The host never writes there: an op output over the mapping is refused.
  std::mt19937 rng(35);
  const int32_t tx = g.random_f32({16}, rng);
  const uint32_t shape_at = g.alloc(4);
  *g.at<uint32_t>(shape_at) = 16;
  const int32_t tmapped = rc_of(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, 0));
  EXPECT_EQ(rc_of(Z_samepageZ_scale(g.ctx(), tmapped, tx, 2.0f)), SP_ERR_ARG);
  EXPECT_EQ(rc_of(Z_samepageZ_unmap_file(g.ctx(), at, 4096)), SP_ERR_ARG);  // not its length
  EXPECT_EQ(rc_of(Z_samepageZ_unmap_file(g.ctx(), at, 5000)), SP_ERR_ARG);  // a view over it is alive
  EXPECT_NE(g.last_error().find("free them first"), std::string::npos) << g.last_error();
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), uint32_t(tmapped)), 0u);
  ASSERT_EQ(Z_samepageZ_unmap_file(g.ctx(), at, 5000), 0u) << g.last_error();
  EXPECT_TRUE(g.memory().is_writable(at, 8192));
  EXPECT_EQ(g.base()[at], 0);
  // Over a write-protected const view (a whole page): refused.
  *g.at<uint32_t>(shape_at) = 1024;
  const int32_t tconst = rc_of(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, SP_CONST));
  ASSERT_GT(tconst, 0) << g.last_error();
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 5, 0, 4096, at)), SP_ERR_ARG);
  EXPECT_NE(g.last_error().find("const"), std::string::npos) << g.last_error();
  close(fd);
}

// Mappings are kernel mappings: they count against the guest's const-range limit.
TEST(HostApiSequence, FileMappingsAreBoundedByTheConstRangeLimit) {
  GuestLimits limits;
  limits.const_ranges = 3;
  FakeGuest g(MemoryMode::MemoryMode_shared, 64, std::make_shared<GuestAccount>(limits));
  char path[] = "/tmp/samepage_maps_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  std::vector<uint8_t> page(4096, 1);
  ASSERT_EQ(write(fd, page.data(), page.size()), 4096);
  g.add_file(3, fd);
  for (uint32_t k = 0; k < 3; ++k)
    ASSERT_EQ(Z_samepageZ_map_file(g.ctx(), 3, 0, 4096, (10 + 2 * k) * 65536), 0u) << k << ": " << g.last_error();
  EXPECT_EQ(rc_of(Z_samepageZ_map_file(g.ctx(), 3, 0, 4096, 20 * 65536)), SP_ERR_NO_MEMORY);
  EXPECT_NE(g.last_error().find("--max-const-ranges"), std::string::npos) << g.last_error();
  ASSERT_EQ(Z_samepageZ_unmap_file(g.ctx(), 10 * 65536, 4096), 0u);
  EXPECT_EQ(Z_samepageZ_map_file(g.ctx(), 3, 0, 4096, 20 * 65536), 0u) << g.last_error();
  close(fd);
}

}  // namespace
}  // namespace samepage
