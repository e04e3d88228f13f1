// One op test over every backend (DESIGN.md §1.5 and §5; ggml's
// test-backend-ops): every case of backend_ops_cases.h runs through the guest
// entry points on each backend of the build, in shared and copy memory modes,
// eagerly and recorded then replayed with its positions as parameters, and is
// compared with the CPU backend (shared memory, eager) on the same random
// inputs by normalized mean squared error. That the CPU reference itself is
// right is for the float64 tests (cpu_*_test.cpp, host_api_test.cpp).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "backend_ops_util.h"
#include "host_api_fixture.h"

namespace samepage::test {
namespace {

// One guest holding a case's tensors: out first, then the inputs.
struct Placed {
  std::vector<int32_t> handles;
  std::vector<uint32_t> at;  // guest offsets of the data
  uint32_t params_at = 0;
};

uint32_t pages_for(const OpCase& c) {
  uint64_t total = 65536 + n_bytes(c.out) + 256 + 64;
  for (const Operand& o : c.in) total += n_bytes(o) + 256;
  return uint32_t(total / 65536 + 2);
}

Placed place(FakeGuest& g, const OpCase& c, const std::vector<std::vector<uint8_t>>& inputs) {
  Placed p;
  auto put = [&](const Operand& o, const std::vector<uint8_t>* data) {
    const uint32_t shape_at = g.alloc(16);
    std::memcpy(g.base() + shape_at, o.shape.data(), o.shape.size() * 4);
    const uint32_t data_at = g.alloc(n_bytes(o));
    // Filled before the view exists: a const view of whole pages becomes read-only.
    if (data != nullptr) std::memcpy(g.base() + data_at, data->data(), data->size());
    p.handles.push_back(int32_t(Z_samepageZ_tensor_view(g.ctx(), data_at, uint32_t(o.dtype), uint32_t(o.shape.size()),
                                                        shape_at, uint32_t(o.flags))));
    EXPECT_GT(p.handles.back(), 0) << shape_text(o) << ": " << g.last_error();
    if (!o.reshape.empty() && p.handles.back() > 0) {  // the alias replaces the view, which goes
      const uint32_t alias_shape_at = g.alloc(16);
      std::memcpy(g.base() + alias_shape_at, o.reshape.data(), o.reshape.size() * 4);
      const int32_t view = p.handles.back();
      p.handles.back() = int32_t(Z_samepageZ_tensor_reshape(g.ctx(), uint32_t(view), uint32_t(o.reshape.size()),
                                                            alias_shape_at));
      EXPECT_GT(p.handles.back(), 0) << "reshape: " << g.last_error();
      EXPECT_EQ(Z_samepageZ_tensor_free(g.ctx(), uint32_t(view)), 0u) << g.last_error();
    }
    p.at.push_back(data_at);
  };
  if (c.in_place < 0) put(c.out, nullptr);
  for (size_t k = 0; k < c.in.size(); ++k) put(c.in[k], &inputs[k]);
  if (c.in_place >= 0) {  // out is that input: its handle and bytes
    p.handles.insert(p.handles.begin(), p.handles[size_t(c.in_place)]);
    p.at.insert(p.at.begin(), p.at[size_t(c.in_place)]);
  }
  p.params_at = g.alloc(8);
  return p;
}

int32_t call_op(FakeGuest& g, const OpCase& c, const Placed& p, const int32_t i[2]) {
  const auto* h = reinterpret_cast<const uint32_t*>(p.handles.data());
  GuestContext* ctx = g.ctx();
  uint32_t rc = uint32_t(SP_ERR_ARG);
  switch (c.op) {
    case GuestOp_matmul: rc = Z_samepageZ_matmul(ctx, h[0], h[1], h[2]); break;
    case GuestOp_rmsnorm: rc = Z_samepageZ_rmsnorm(ctx, h[0], h[1], h[2], c.f[0]); break;
    case GuestOp_rope: rc = Z_samepageZ_rope(ctx, h[0], h[1], uint32_t(i[0]), c.f[0], c.f[1], uint32_t(i[1])); break;
    case GuestOp_attention: rc = Z_samepageZ_attention(ctx, h[0], h[1], h[2], h[3], uint32_t(i[0])); break;
    case GuestOp_silu_mul: rc = Z_samepageZ_silu_mul(ctx, h[0], h[1], h[2]); break;
    case GuestOp_add: rc = Z_samepageZ_add(ctx, h[0], h[1], h[2]); break;
    case GuestOp_scale: rc = Z_samepageZ_scale(ctx, h[0], h[1], c.f[0]); break;
    case GuestOp_embedding: rc = Z_samepageZ_embedding(ctx, h[0], h[1], h[2]); break;
    case GuestOp_softmax: rc = Z_samepageZ_softmax(ctx, h[0], h[1]); break;
    case GuestOp_argmax: rc = Z_samepageZ_argmax(ctx, h[0], h[1]); break;
    case GuestOp_copy: rc = Z_samepageZ_copy(ctx, h[0], h[1]); break;
    case GuestOp_set_rows: rc = Z_samepageZ_set_rows(ctx, h[0], h[2], uint32_t(i[0])); break;  // h[1] is h[0]
    case GuestOp_rope_ext:
      rc = Z_samepageZ_rope_ext(ctx, h[0], h[1], h[2], uint32_t(i[0]), c.f[0], c.f[1], uint32_t(i[1]));
      break;
    case GuestOp_count: break;
  }
  return int32_t(rc);
}

struct Target {
  std::string backend;
  MemoryMode mode;
  GuestOp op;
};

// gtest prints the parameter of a failed test with this, not as raw bytes.
void PrintTo(const Target& t, std::ostream* os) {
  *os << t.backend << "/" << memory_mode_name(t.mode) << "/" << guest_op_name(t.op);
}

struct Tally {
  int n_cases = 0, n_comparisons = 0, n_unsupported = 0;
  double worst_nmse = 0;
};

// Runs one case on the backend under test in mode, eagerly and replayed,
// each run against the reference's eager run with the same scalars.
void run_case(const Target& target, const OpCase& c, uint32_t seed, Tally* tally) {
  SCOPED_TRACE(describe(c));
  std::vector<std::vector<uint8_t>> inputs;
  for (size_t k = 0; k < c.in.size(); ++k) inputs.push_back(make_input(c.in[k], seed * 16 + uint32_t(k)));
  const uint32_t n_pages = pages_for(c);
  FakeGuest ref(MemoryMode::MemoryMode_shared, n_pages, nullptr, backend_named(kReferenceBackend));
  FakeGuest test(target.mode, n_pages, nullptr, backend_named(target.backend));
  const Placed rp = place(ref, c, inputs), tp = place(test, c, inputs);
  for (size_t k = 0; k < rp.handles.size(); ++k)
    if (rp.handles[k] <= 0 || tp.handles[k] <= 0) return;  // place() said why
  const uint64_t out_bytes = n_bytes(c.out), n_out = n_elements(c.out);
  const bool self = target.backend == kReferenceBackend;
  const double bound = max_nmse(c);

  // Before a run: a sentinel in the output (NaN / -1: an unwritten output
  // cannot pass), or, in place, the input it overwrites again.
  auto reset_out = [&](FakeGuest& g, const Placed& p, int fill) {
    if (c.in_place >= 0) std::memcpy(g.base() + p.at[0], inputs[size_t(c.in_place)].data(), out_bytes);
    else std::memset(g.base() + p.at[0], fill, out_bytes);
  };
  // Compares the test guest's output with the reference run with scalars i.
  auto check = [&](const int32_t i[2], const char* how) {
    reset_out(ref, rp, 0);
    ASSERT_EQ(call_op(ref, c, rp, i), 0) << "reference: " << ref.last_error();
    const uint8_t* want = ref.base() + rp.at[0];
    const uint8_t* got = test.base() + tp.at[0];
    ++tally->n_comparisons;
    if (self) {
      EXPECT_EQ(std::memcmp(got, want, out_bytes), 0) << how << " i={" << i[0] << "," << i[1] << "}: not bit-identical";
      return;
    }
    const double e = nmse(decode(c.out.dtype, got, n_out), decode(c.out.dtype, want, n_out));
    EXPECT_LE(e, bound) << how << " i={" << i[0] << "," << i[1] << "}";
    if (e > tally->worst_nmse) tally->worst_nmse = e;
  };

  // Eager. A backend may refuse what it cannot do (SP_ERR_UNSUPPORTED), as
  // ggml's supports_op; the summary line counts those, and nothing else may fail.
  reset_out(test, tp, 0xff);
  const int32_t rc = call_op(test, c, tp, c.i);
  if (rc == SP_ERR_UNSUPPORTED && !self) {
    ++tally->n_unsupported;
    return;
  }
  ASSERT_EQ(rc, 0) << "eager: " << test.last_error();
  check(c.i, "eager");
  if (::testing::Test::HasFatalFailure()) return;

  // Recorded with the masked scalars as SP_PARAM(k), replayed per parameter block.
  int32_t recorded[2] = {c.i[0], c.i[1]};
  for (int k = 0; k < 2; ++k)
    if (c.param_mask & (1u << k)) recorded[k] = SP_PARAM_BASE - k;
  ASSERT_EQ(Z_samepageZ_record_begin(test.ctx()), 0u);
  ASSERT_EQ(call_op(test, c, tp, recorded), 0) << "record: " << test.last_error();
  const int32_t seq = int32_t(Z_samepageZ_record_end(test.ctx()));
  ASSERT_GT(seq, 0) << test.last_error();
  std::vector<std::array<int32_t, 2>> replays = c.replays;
  EXPECT_TRUE(c.param_mask == 0 || replays.size() >= 2) << "a case with parameters replays at least two values";
  if (replays.empty()) replays = {{0, 0}, {0, 0}};
  for (const auto& block : replays) {
    int32_t used[2];
    for (int k = 0; k < 2; ++k) used[k] = (c.param_mask & (1u << k)) ? block[k] : c.i[k];
    std::memcpy(test.base() + tp.params_at, block.data(), 8);
    reset_out(test, tp, 0xff);
    ASSERT_EQ(int32_t(Z_samepageZ_replay(test.ctx(), seq, tp.params_at, 2)), 0) << "replay: " << test.last_error();
    check(used, "replayed");
    if (::testing::Test::HasFatalFailure()) return;
  }

  // No run may write its inputs (copy mode's write-back included).
  for (size_t k = 0; k < c.in.size(); ++k) {
    if (int(k) == c.in_place) continue;
    EXPECT_EQ(std::memcmp(test.base() + tp.at[k + 1], inputs[k].data(), inputs[k].size()), 0)
        << "input " << k << " changed";
  }
  ++tally->n_cases;
}

class EveryOp : public ::testing::TestWithParam<Target> {};

TEST_P(EveryOp, MatchesCpuReference) {
  const Target& target = GetParam();
  if (const std::string why = backend_unavailable(target.backend); !why.empty()) GTEST_SKIP() << why;
  const std::vector<OpCase> cases = backend_op_cases();
  Tally tally;
  for (size_t k = 0; k < cases.size(); ++k) {
    if (cases[k].op != target.op) continue;
    run_case(target, cases[k], uint32_t(k + 1), &tally);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(tally.n_cases + tally.n_unsupported, 0) << "no cases for " << guest_op_name(target.op);
  std::printf("[ BackendOps ] %s/%s %s: %d cases, %d comparisons, worst NMSE %.3g, %d unsupported\n",
              target.backend.c_str(), memory_mode_name(target.mode), guest_op_name(target.op), tally.n_cases,
              tally.n_comparisons, tally.worst_nmse, tally.n_unsupported);
}

std::vector<Target> every_target() {
  std::vector<Target> targets;
  for (const BackendMode& b : every_backend_mode())
    for (int op = 0; op < GuestOp_count; ++op) targets.push_back({b.backend, b.mode, GuestOp(op)});
  return targets;
}

INSTANTIATE_TEST_SUITE_P(BackendOps, EveryOp, ::testing::ValuesIn(every_target()),
                         [](const ::testing::TestParamInfo<Target>& i) {
                           return i.param.backend + "_" + memory_mode_name(i.param.mode) + "_" +
                                  guest_op_name(i.param.op);
                         });

}  // namespace
}  // namespace samepage::test
