// The host API's part of a snapshot (HostApi::save_state / restore_state)
// without a guest module, so AddressSanitizer covers it (scripts/test.sh runs
// HostApi* there): a live recorded sequence comes back recorded, with its
// parameter range found again, a broken one comes back dropped, and recorded
// ops from a hostile file (any op code, operand count, handle or scalar) are
// refused with an error or recorded through the guest's own checks, never a
// crash.
#include <cstring>
#include <random>

#include "backends/cpu/dtype.h"
#include "host_api_fixture.h"

namespace samepage {
namespace {

using test::FakeGuest;

int32_t rc_of(uint32_t r) { return static_cast<int32_t>(r); }
uint32_t param(int32_t i) { return static_cast<uint32_t>(SP_PARAM(i)); }

constexpr uint32_t kCtx = 6, kKv = 2, kDim = 4;

// A guest with src (1, kKv, kDim) f32, a runtime f16 cache (kCtx, kKv, kDim),
// out (1, kKv, kDim) f32, sequence 1 = {set_rows(cache, src, P0), get_rows(out,
// cache, P0)}, and sequence 2 broken (its tensor freed).
struct Recorded {
  FakeGuest g;
  int32_t src = 0, cache = 0, out = 0, seq = 0, broken = 0;
  uint32_t src_at = 0, out_at = 0, params_at = 0;
  Recorded() {
    std::mt19937 rng(41);
    float* p = nullptr;
    src = g.random_f32({1, kKv, kDim}, rng, &p);
    src_at = uint32_t(reinterpret_cast<uint8_t*>(p) - g.base());
    out = g.view(SP_F32, {1, kKv, kDim}, kKv * kDim * 4, &out_at);
    const uint32_t shape_at = g.alloc(16);
    const uint32_t shape[3] = {kCtx, kKv, kDim};
    std::memcpy(g.base() + shape_at, shape, 12);
    cache = rc_of(Z_samepageZ_tensor_alloc(g.ctx(), SP_F16, 3, shape_at, 0));
    const int32_t tmp = rc_of(Z_samepageZ_tensor_alloc(g.ctx(), SP_F16, 3, shape_at, 0));
    params_at = g.alloc(4);
    EXPECT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
    EXPECT_EQ(Z_samepageZ_set_rows(g.ctx(), cache, src, param(0)), 0u) << g.last_error();
    EXPECT_EQ(Z_samepageZ_get_rows(g.ctx(), out, cache, param(0)), 0u) << g.last_error();
    seq = rc_of(Z_samepageZ_record_end(g.ctx()));
    EXPECT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
    EXPECT_EQ(Z_samepageZ_set_rows(g.ctx(), tmp, src, param(0)), 0u) << g.last_error();
    broken = rc_of(Z_samepageZ_record_end(g.ctx()));
    EXPECT_EQ(Z_samepageZ_tensor_free(g.ctx(), uint32_t(tmp)), 0u);
  }
};

// A fresh API over a copy of the saving guest's memory, restored from state.
std::unique_ptr<FakeGuest> restored(Recorded& r, const HostApiState& state, std::string* error) {
  auto h = std::make_unique<FakeGuest>();
  std::memcpy(h->base(), r.g.base(), r.g.size_bytes());
  Status s = h->api().restore_state(state);
  if (!s) *error = s.message();
  return s ? std::move(h) : nullptr;
}

TEST(HostApiSnapshot, LiveSequenceComesBackRecordedAndBrokenOneDropped) {
  Recorded r;
  ASSERT_GT(r.seq, 0);
  ASSERT_GT(r.broken, r.seq);
  auto state = r.g.api().save_state();
  ASSERT_TRUE(state.is_ok()) << state.message();
  ASSERT_TRUE(state.value().read_tensor_bytes().is_ok());
  EXPECT_EQ(state.value().sequences, (std::vector<int32_t>{r.seq, r.broken}));
  ASSERT_EQ(state.value().recorded.size(), 1u);
  EXPECT_EQ(state.value().recorded[0].id, r.seq);
  ASSERT_EQ(state.value().recorded[0].ops.size(), 2u);

  std::string error;
  auto h = restored(r, state.value(), &error);
  ASSERT_TRUE(h) << error;
  const float* src = h->at<float>(r.src_at);
  for (int32_t row : {5, 0, 3}) {
    *h->at<int32_t>(r.params_at) = row;
    ASSERT_EQ(Z_samepageZ_replay(h->ctx(), r.seq, r.params_at, 1), 0u) << h->last_error();
    for (uint32_t i = 0; i < kKv * kDim; ++i)
      EXPECT_EQ(h->at<float>(r.out_at)[i], cpu::f16_to_f32(cpu::f32_to_f16(src[i]))) << row << " " << i;
  }
  *h->at<int32_t>(r.params_at) = int32_t(kCtx);  // the range [0, 5] was found again
  EXPECT_EQ(rc_of(Z_samepageZ_replay(h->ctx(), r.seq, r.params_at, 1)), SP_ERR_ARG);
  EXPECT_NE(h->last_error().find("[0, 5]"), std::string::npos) << h->last_error();
  EXPECT_EQ(rc_of(Z_samepageZ_replay(h->ctx(), r.broken, r.params_at, 1)), SP_ERR_STATE);
  EXPECT_NE(h->last_error().find("record it again"), std::string::npos) << h->last_error();
  // The next sequence gets the id after the saved ones.
  ASSERT_EQ(Z_samepageZ_record_begin(h->ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_copy(h->ctx(), r.out, r.src), 0u) << h->last_error();
  EXPECT_EQ(rc_of(Z_samepageZ_record_end(h->ctx())), r.broken + 1);
}

// A runtime tensor is not copied when the state is saved: its entry reads
// ranges of it from the backend (a snapshot streams them), and a range past
// its end is refused.
TEST(HostApiSnapshot, RuntimeTensorsAreReadByRangeNotCopiedAtSave) {
  Recorded r;
  *r.g.at<int32_t>(r.params_at) = 2;
  ASSERT_EQ(Z_samepageZ_replay(r.g.ctx(), r.seq, r.params_at, 1), 0u) << r.g.last_error();  // cache row 2 = src
  auto state = r.g.api().save_state();
  ASSERT_TRUE(state.is_ok()) << state.message();
  const HostApiState::Entry* cache = nullptr;
  for (const HostApiState::Entry& e : state.value().tensors)
    if (e.handle == r.cache) cache = &e;
  ASSERT_NE(cache, nullptr);
  EXPECT_TRUE(cache->bytes.empty());
  EXPECT_EQ(cache->data, nullptr);
  ASSERT_TRUE(cache->read);
  std::vector<uint16_t> row(kKv * kDim);
  ASSERT_TRUE(cache->read(2 * kKv * kDim * 2, row.size() * 2, row.data()).is_ok());
  const float* src = r.g.at<float>(r.src_at);
  for (uint32_t i = 0; i < kKv * kDim; ++i) EXPECT_EQ(row[i], cpu::f32_to_f16(src[i])) << i;
  uint8_t one = 0;
  const Status past = cache->read(cache->n_bytes, 1, &one);
  EXPECT_FALSE(past.is_ok());
  EXPECT_NE(past.message().find("past the end"), std::string::npos) << past.message();
}

TEST(HostApiSnapshot, HostileRecordedOpsAreRefusedByName) {
  Recorded r;
  auto state = r.g.api().save_state();
  ASSERT_TRUE(state.is_ok()) << state.message();
  ASSERT_TRUE(state.value().read_tensor_bytes().is_ok());
  struct Case {
    const char* expect;
    void (*edit)(HostApiState&);
  };
  const Case cases[] = {
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[0].n_handles = 3; }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[0].n_handles = 0; }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[0].n_handles = -1; }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[0].op = OpCode_count; }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[0].op = static_cast<OpCode>(-3); }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[0].f[0] = 1.0f; }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[0].f[1] = -0.0f; }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[1].i[1] = 4; }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[1].handles[3] = 1; }},
      {"is not a live tensor", [](HostApiState& s) { s.recorded[0].ops[0].handles[1] = 99; }},
      {"op 1: ", [](HostApiState& s) { s.recorded[0].ops[1].handles[1] = s.recorded[0].ops[1].handles[0]; }},
      {"has no ops", [](HostApiState& s) { s.recorded[0].ops.clear(); }},
      {"not among the sequences", [](HostApiState& s) { s.recorded[0].id = 7; }},
      {"not an op as the sp_* calls make it", [](HostApiState& s) { s.recorded[0].ops[0].i[1] = SP_PARAM(0); }},
      {"op 0: rope: ", [](HostApiState& s) { s.recorded[0].ops[0].op = OpCode_rope; }},  // the guest's own shape checks
  };
  for (const Case& c : cases) {
    HostApiState s = state.value();
    c.edit(s);
    std::string error;
    auto h = restored(r, s, &error);
    EXPECT_FALSE(h) << c.expect;
    EXPECT_NE(error.find(c.expect), std::string::npos) << c.expect << ": " << error;
  }
}

// Random recorded ops: each restore is refused with a message or records
// ops that replay (or refuse to) without a crash; ASan watches.
TEST(HostApiSnapshot, RandomRecordedOpsNeverCrash) {
  Recorded r;
  auto state = r.g.api().save_state();
  ASSERT_TRUE(state.is_ok()) << state.message();
  ASSERT_TRUE(state.value().read_tensor_bytes().is_ok());
  std::mt19937 rng(7);
  auto pick = [&](std::initializer_list<int64_t> values) {
    return *(values.begin() + std::uniform_int_distribution<size_t>(0, values.size() - 1)(rng));
  };
  int n_restored = 0;
  for (int iter = 0; iter < 400; ++iter) {
    HostApiState s = state.value();
    for (OpRequest& op : s.recorded[0].ops) {
      if (rng() % 2) op.op = static_cast<OpCode>(pick({-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
      if (rng() % 3 == 0) op.n_handles = int(pick({-1, 0, 1, 2, 3, 4, 5}));
      for (int32_t& h : op.handles)
        if (rng() % 4 == 0) h = int32_t(pick({-1, 0, 1, 2, 3, 4, 5, 6, INT32_MAX}));
      for (float& f : op.f)
        if (rng() % 6 == 0) f = float(pick({0, 1, -1, 1000000}));
      for (int32_t& v : op.i)
        if (rng() % 4 == 0) v = int32_t(pick({0, 1, -1, 5, 6, SP_PARAM(0), SP_PARAM(1), SP_PARAM(64), INT32_MIN, INT32_MAX}));
    }
    std::string error;
    auto h = restored(r, s, &error);
    if (!h) {
      EXPECT_FALSE(error.empty());
      continue;
    }
    ++n_restored;
    for (int32_t row : {0, 5, 6}) {
      *h->at<int32_t>(r.params_at) = row;
      (void)Z_samepageZ_replay(h->ctx(), r.seq, r.params_at, 1);
    }
  }
  EXPECT_GT(n_restored, 0);  // some mutations are valid programs
}

}  // namespace
}  // namespace samepage
