// The CUDA backend's fused steps (backends/cuda/fusion_plan.h): the planner
// over op lists (host code, runs everywhere the backend is built), and on a
// GPU a captured sequence whose fused kernels must give the bits the same ops
// give one by one (skipped with the probe's reason where there is no GPU).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend_ops_util.h"
#include "host_api_fixture.h"
#include "samepage_abi.h"

#if SAMEPAGE_TEST_CUDA_INTERNALS
#include "backends/cuda/fusion_plan.h"
#endif

namespace samepage::test {
namespace {

#if SAMEPAGE_TEST_CUDA_INTERNALS
using cuda::FusedKind;
using cuda::plan_fusion;

TensorArg arg(uint64_t id, std::vector<int64_t> shape, DType dt = DType_f32) {
  TensorArg t;
  t.id = id;
  t.dtype = dt;
  t.n_dims = int(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) t.shape[i] = shape[i];
  t.data = reinterpret_cast<void*>(uintptr_t(id) << 20);
  t.n_bytes = uint64_t(t.n_elements()) * (dt == DType_f32 ? 4 : 2);
  return t;
}
SequenceOp op(OpCode code, std::vector<TensorArg> t, int32_t pos = 0, int32_t slot = -1) {
  SequenceOp s;
  s.args.op = code;
  for (size_t i = 0; i < t.size(); ++i) s.args.t[i] = t[i];
  s.args.i[0] = pos;
  s.args.f[0] = 10000.0f;
  s.args.f[1] = 1.0f;
  s.param_slot[0] = slot;
  return s;
}

// The ops of one layer as the LLM guest records them (ids: x 1, o 2, h 3,
// norm weights 4, 5, q 6, k 7, v 8, k cache 9, v cache 10).
std::vector<SequenceOp> layer(int32_t v_id = 8, int32_t set_rows_slot = 0) {
  const TensorArg x = arg(1, {1, 64}), o = arg(2, {1, 64}), h = arg(3, {1, 64}), w1 = arg(4, {64}), w2 = arg(5, {64});
  const TensorArg q = arg(6, {1, 4, 16}), k = arg(7, {1, 2, 16}), v = arg(uint64_t(v_id), {1, 32});
  const TensorArg kc = arg(9, {8, 32}, DType_f16), vc = arg(10, {8, 32}, DType_f16);
  return {op(OpCode_add, {x, x, o}),          op(OpCode_rmsnorm, {h, x, w1}),
          op(OpCode_rope, {q, q}, 0, 0),       op(OpCode_rope, {k, k}, 0, 0),
          op(OpCode_set_rows, {kc, k}, 0, set_rows_slot), op(OpCode_set_rows, {vc, v}, 0, 0),
          op(OpCode_add, {x, x, o}),          op(OpCode_rmsnorm, {h, x, w2})};
}

TEST(FusionPlan, FindsTheLayerSteps) {
  const auto steps = plan_fusion(layer());
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].kind, FusedKind::add_rmsnorm);
  EXPECT_EQ(steps[1].kind, FusedKind::rope_store);
  EXPECT_EQ(steps[1].first, 2u);
  EXPECT_EQ(steps[1].count, 4u);
  EXPECT_EQ(steps[2].kind, FusedKind::add_rmsnorm);
}

TEST(FusionPlan, RefusesWhatOneKernelCannotDoAlike) {
  // The v stored is the k just roped: it must be read after the rope.
  auto steps = plan_fusion(layer(/*v_id=*/7));
  for (const auto& s : steps) EXPECT_NE(s.kind, FusedKind::rope_store);
  // The k cache row at another position than the rope's.
  steps = plan_fusion(layer(8, /*set_rows_slot=*/1));
  for (const auto& s : steps) EXPECT_NE(s.kind, FusedKind::rope_store);
  // The k rope reads the q rope's output, writes its input, or writes its
  // output: one kernel has no order between the two ropes' threads.
  for (int which = 0; which < 3; ++which) {
    auto ops = layer();
    const TensorArg q = ops[2].args.t[0];
    if (which == 0) ops[3].args.t[1] = q;                         // rope(K ← Q'), Q' just roped
    if (which == 1) ops[3].args.t[0] = ops[4].args.t[1] = q;      // both ropes write q
    if (which == 2) {                                             // rope(Q ← X), rope(X ← K)
      const TensorArg x = arg(12, {1, 4, 16});
      ops[2].args.t[1] = x;
      ops[3].args.t[0] = ops[4].args.t[1] = x;
    }
    for (const auto& s : plan_fusion(ops)) EXPECT_NE(s.kind, FusedKind::rope_store) << "case " << which;
  }
  // A broadcast add (a bias row) is not the residual add.
  auto ops = layer();
  ops[0].args.t[0] = ops[0].args.t[1] = arg(1, {2, 64});
  ops[0].args.t[2] = arg(2, {64});
  steps = plan_fusion(ops);
  EXPECT_EQ(steps[0].kind, FusedKind::single);
  // An f16 or bf16 V source (set_rows takes them since restores write saved rows
  // as they are): the fused kernel reads f32 rows, so the four ops run alone.
  for (DType dt : {DType_f16, DType_bf16}) {
    ops = layer();
    ops[5].args.t[1] = arg(8, {1, 32}, dt);
    for (const auto& s : plan_fusion(ops)) EXPECT_NE(s.kind, FusedKind::rope_store) << dtype_name(dt);
  }
  // The norm of another tensor than the sum.
  ops = layer();
  ops[1].args.t[1] = arg(11, {1, 64});
  EXPECT_EQ(plan_fusion(ops)[0].kind, FusedKind::single);
  // Every op is covered once, in order.
  size_t next = 0;
  for (const auto& s : plan_fusion(layer(7, 1))) {
    EXPECT_EQ(s.first, next);
    next += s.count;
  }
  EXPECT_EQ(next, layer().size());
}

// A feed-forward and attention projection block (ids: x 1, q 2, k 3, v 4,
// gate 5, up 6, weights 11..15).
std::vector<SequenceOp> projections(int64_t m = 1, DType w_dtype = DType_bf16) {
  const TensorArg x = arg(1, {m, 64});
  auto w = [&](uint64_t id, int64_t n) { return arg(id, {n, 64}, w_dtype); };
  const TensorArg q = arg(2, {m, 32}), k = arg(3, {m, 16}), v = arg(4, {m, 16}), g = arg(5, {m, 96}),
                  u = arg(6, {m, 96});
  return {op(OpCode_matmul, {q, x, w(11, 32)}), op(OpCode_matmul, {k, x, w(12, 16)}),
          op(OpCode_matmul, {v, x, w(13, 16)}), op(OpCode_matmul, {g, x, w(14, 96)}),
          op(OpCode_matmul, {u, x, w(15, 96)}), op(OpCode_silu_mul, {g, g, u})};
}

TEST(FusionPlan, GroupsProductsOfOneX) {
  auto steps = plan_fusion(projections());
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].kind, FusedKind::gemv_group);
  EXPECT_EQ(steps[0].count, 3u);
  EXPECT_EQ(steps[1].kind, FusedKind::gemv_silu);
  EXPECT_EQ(steps[1].first, 3u);
  EXPECT_EQ(steps[1].count, 3u);
  // Up to 8 rows of x (a small prefill batch) too, and quant weights.
  EXPECT_EQ(plan_fusion(projections(8, DType_q4_0))[0].kind, FusedKind::gemv_group);
  // More rows: the GEMM's products, one by one.
  for (const auto& s : plan_fusion(projections(9))) EXPECT_EQ(s.kind, FusedKind::single);
}

TEST(FusionPlan, GroupsOnlyIndependentProducts) {
  // The k projection reads what the q projection writes.
  auto ops = projections();
  ops[1].args.t[1] = ops[0].args.t[0];
  EXPECT_NE(plan_fusion(ops)[0].count, 3u);
  // Another weight dtype or k in the middle of the group ends it there.
  ops = projections();
  ops[1].args.t[2].dtype = DType_f16;
  EXPECT_EQ(plan_fusion(ops)[0].kind, FusedKind::single);
  // A product written over x, or over an earlier product's output or weight.
  ops = projections();
  ops[2].args.t[0] = ops[2].args.t[1];
  EXPECT_EQ(plan_fusion(ops)[0].count, 2u);
  ops = projections();
  ops[2].args.t[0] = ops[0].args.t[0];
  EXPECT_EQ(plan_fusion(ops)[0].count, 2u);
  ops = projections();
  ops[1].args.t[0] = ops[0].args.t[2];
  EXPECT_EQ(plan_fusion(ops)[0].kind, FusedKind::single);
  // silu_mul of other tensors than the two products: a plain group of two.
  ops = projections();
  ops[5].args.t[2] = ops[1].args.t[0];
  const auto steps = plan_fusion(ops);
  EXPECT_EQ(steps.back().kind, FusedKind::single);
  EXPECT_EQ(steps[steps.size() - 2].kind, FusedKind::gemv_group);
  // Gate and up of different widths.
  ops = projections();
  ops[4].args.t[2] = arg(15, {48, 64});
  ops[4].args.t[0] = arg(6, {1, 48});
  for (const auto& s : plan_fusion(ops)) EXPECT_NE(s.kind, FusedKind::gemv_silu);
}

// The q/k/v products of one row, then rope and the cache stores on them
// (ids: x 1, q 2, k 3, v 4, caches 9 and 10, weights 11..13).
std::vector<SequenceOp> attention_preamble(int32_t mode = 0, int64_t rows = 1) {
  const TensorArg x = arg(1, {rows, 64});
  const TensorArg q = arg(2, {rows, 64}), k = arg(3, {rows, 32}), v = arg(4, {rows, 32});
  const TensorArg q3 = arg(2, {rows, 4, 16}), k3 = arg(3, {rows, 2, 16});
  const TensorArg kc = arg(9, {8, 32}, DType_f16), vc = arg(10, {8, 32}, DType_f16);
  auto w = [&](uint64_t id, int64_t n) { return arg(id, {n, 64}, DType_bf16); };
  std::vector<SequenceOp> ops = {op(OpCode_matmul, {q, x, w(11, 64)}), op(OpCode_matmul, {k, x, w(12, 32)}),
                                 op(OpCode_matmul, {v, x, w(13, 32)}), op(OpCode_rope, {q3, q3}, 0, 0),
                                 op(OpCode_rope, {k3, k3}, 0, 0),     op(OpCode_set_rows, {kc, k}, 0, 0),
                                 op(OpCode_set_rows, {vc, v}, 0, 0)};
  ops[3].args.i[1] = ops[4].args.i[1] = mode;
  return ops;
}

TEST(FusionPlan, GroupTakesTheRopeAndStoresOfItsProducts) {
  auto steps = plan_fusion(attention_preamble());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, FusedKind::gemv_rope_store);
  EXPECT_EQ(steps[0].count, 7u);
  // Pairs half a head apart (NEOX): not adjacent rows; two rows of x: the
  // group and the rope apart.
  for (auto ops : {attention_preamble(1), attention_preamble(0, 2)}) {
    steps = plan_fusion(ops);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0].kind, FusedKind::gemv_group);
    EXPECT_EQ(steps[1].kind, FusedKind::rope_store);
  }
  // The v stored is not the v product; a roped q written over x.
  auto ops = attention_preamble();
  ops[6].args.t[1] = arg(5, {1, 32});
  EXPECT_NE(plan_fusion(ops)[0].kind, FusedKind::gemv_rope_store);
  ops = attention_preamble();
  ops[3].args.t[0] = arg(1, {1, 4, 16});
  EXPECT_NE(plan_fusion(ops)[0].kind, FusedKind::gemv_rope_store);
  // The k roped is not the k product; a cache over x; cache rows of another width.
  ops = attention_preamble();
  ops[4].args.t[1] = ops[4].args.t[0] = arg(5, {1, 2, 16});
  ops[5].args.t[1] = arg(5, {1, 32});
  EXPECT_NE(plan_fusion(ops)[0].kind, FusedKind::gemv_rope_store);
  ops = attention_preamble();
  ops[6].args.t[0] = arg(1, {2, 32}, DType_f16);
  EXPECT_NE(plan_fusion(ops)[0].kind, FusedKind::gemv_rope_store);
  ops = attention_preamble();
  ops[5].args.t[0] = arg(9, {4, 64}, DType_f16);
  EXPECT_NE(plan_fusion(ops)[0].kind, FusedKind::gemv_rope_store);
}

TEST(FusionPlan, RangesMustAliasExactlyOrNotAtAll) {
  alignas(16) static uint8_t bytes[256];
  EXPECT_TRUE(cuda::fusable_ranges({{bytes, 64}, {bytes, 64}, {bytes + 64, 64}}));
  EXPECT_FALSE(cuda::fusable_ranges({{bytes, 64}, {bytes + 32, 64}}));
  EXPECT_FALSE(cuda::fusable_ranges({{bytes, 64}, {bytes, 32}}));
}
#endif

// On the GPU: a layer's add + rmsnorm and rope + cache stores, recorded and
// replayed (a captured graph, fused) against the same ops issued one by one.
class CudaFusion : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = backend_unavailable("cuda"); !why.empty()) GTEST_SKIP() << why;
  }
};

constexpr int32_t kFlagsConst = 1, kFlagsDevice = 2;
constexpr uint32_t kDim = 192, kHeads = 6, kKvHeads = 2, kHeadDim = 32, kCtx = 16, kTokens = 2;

struct Layer {
  FakeGuest g{MemoryMode::MemoryMode_shared, 64, nullptr, backend_named("cuda")};
  std::mt19937 rng{1234};
  int32_t x, o, h, w, q, k, v, kc, vc;              // runtime tensors (and the const weight w)
  int32_t x0, o0, q0, k0, v0;                       // their first values, views
  int32_t out_x, out_h, out_q, out_k, out_kc, out_vc;  // views the results are copied into
  uint32_t at_x, at_h, at_q, at_k, at_kc, at_vc, params_at;
  float* q0_data = nullptr;

  int32_t runtime(int32_t dtype, std::vector<uint32_t> shape) {
    const uint32_t shape_at = g.alloc(16);
    std::memcpy(g.base() + shape_at, shape.data(), shape.size() * 4);
    const int32_t t = int32_t(Z_samepageZ_tensor_alloc(g.ctx(), uint32_t(dtype), uint32_t(shape.size()), shape_at,
                                                       uint32_t(kFlagsDevice)));
    EXPECT_GT(t, 0) << g.last_error();
    return t;
  }
  Layer() {
    const uint32_t q_dim = kHeads * kHeadDim, kv_dim = kKvHeads * kHeadDim;
    x = runtime(0, {kTokens, kDim}), o = runtime(0, {kTokens, kDim}), h = runtime(0, {kTokens, kDim});
    q = runtime(0, {kTokens, kHeads, kHeadDim}), k = runtime(0, {kTokens, kKvHeads, kHeadDim});
    v = runtime(0, {kTokens, kv_dim});
    kc = runtime(1, {kCtx, kv_dim}), vc = runtime(1, {kCtx, kv_dim});  // f16 caches
    x0 = g.random_f32({kTokens, kDim}, rng), o0 = g.random_f32({kTokens, kDim}, rng);
    q0 = g.random_f32({kTokens, kHeads, kHeadDim}, rng, &q0_data), k0 = g.random_f32({kTokens, kKvHeads, kHeadDim}, rng);
    v0 = g.random_f32({kTokens, kv_dim}, rng);
    uint32_t w_at = 0;
    w = g.view(0, {kDim}, 65536, &w_at, 0);  // whole pages: made const below
    std::uniform_real_distribution<float> dist(0.5f, 1.5f);
    for (uint32_t i = 0; i < kDim; ++i) g.at<float>(w_at)[i] = dist(rng);
    EXPECT_EQ(Z_samepageZ_tensor_free(g.ctx(), uint32_t(w)), 0u);
    const uint32_t shape_at = g.alloc(16);
    g.at<uint32_t>(shape_at)[0] = kDim;
    w = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, 0, 1, shape_at, uint32_t(kFlagsConst)));
    EXPECT_GT(w, 0) << g.last_error();
    out_x = g.view(0, {kTokens, kDim}, kTokens * kDim * 4, &at_x);
    out_h = g.view(0, {kTokens, kDim}, kTokens * kDim * 4, &at_h);
    out_q = g.view(0, {kTokens, q_dim}, kTokens * q_dim * 4, &at_q);
    out_k = g.view(0, {kTokens, kv_dim}, kTokens * kv_dim * 4, &at_k);
    out_kc = g.view(1, {kCtx, kv_dim}, kCtx * kv_dim * 2, &at_kc);
    out_vc = g.view(1, {kCtx, kv_dim}, kCtx * kv_dim * 2, &at_vc);
    params_at = g.alloc(8);
  }
  // Fresh first values (the caches keep what earlier positions stored).
  void reset() {
    GuestContext* c = g.ctx();
    EXPECT_EQ(Z_samepageZ_copy(c, uint32_t(x), uint32_t(x0)), 0u) << g.last_error();
    EXPECT_EQ(Z_samepageZ_copy(c, uint32_t(o), uint32_t(o0)), 0u);
    EXPECT_EQ(Z_samepageZ_copy(c, uint32_t(q), uint32_t(q0)), 0u);
    EXPECT_EQ(Z_samepageZ_copy(c, uint32_t(k), uint32_t(k0)), 0u);
    EXPECT_EQ(Z_samepageZ_copy(c, uint32_t(v), uint32_t(v0)), 0u);
  }
  int32_t issue(int32_t pos) {
    GuestContext* c = g.ctx();
    const auto u = [](int32_t t) { return uint32_t(t); };
    const uint32_t rcs[] = {
        Z_samepageZ_add(c, u(x), u(x), u(o)),
        Z_samepageZ_rmsnorm(c, u(h), u(x), u(w), 1e-5f),
        Z_samepageZ_rope(c, u(q), u(q), u(pos), 10000.0f, 1.0f, 0),
        Z_samepageZ_rope(c, u(k), u(k), u(pos), 10000.0f, 1.0f, 0),
        Z_samepageZ_set_rows(c, u(kc), u(k), u(pos)),
        Z_samepageZ_set_rows(c, u(vc), u(v), u(pos)),
        Z_samepageZ_copy(c, u(out_x), u(x)),
        Z_samepageZ_copy(c, u(out_h), u(h)),
        Z_samepageZ_copy(c, u(out_q), u(q)),
        Z_samepageZ_copy(c, u(out_k), u(k)),
        Z_samepageZ_copy(c, u(out_kc), u(kc)),
        Z_samepageZ_copy(c, u(out_vc), u(vc)),
    };
    for (uint32_t rc : rcs)
      if (rc != 0) return int32_t(rc);
    return 0;
  }
  std::vector<uint8_t> results() {
    std::vector<uint8_t> r;
    const std::pair<uint32_t, uint32_t> outs[] = {{at_x, kTokens * kDim * 4}, {at_h, kTokens * kDim * 4},
                                                  {at_q, kTokens * kHeads * kHeadDim * 4},
                                                  {at_k, kTokens * kKvHeads * kHeadDim * 4},
                                                  {at_kc, kCtx * kKvHeads * kHeadDim * 2},
                                                  {at_vc, kCtx * kKvHeads * kHeadDim * 2}};
    for (auto [at, n] : outs) r.insert(r.end(), g.base() + at, g.base() + at + n);
    return r;
  }
};

TEST_F(CudaFusion, FusedReplayGivesTheBitsOfOpByOp) {
  Layer fused, single;
  ASSERT_EQ(Z_samepageZ_record_begin(fused.g.ctx()), 0u);
  ASSERT_EQ(fused.issue(SP_PARAM_BASE), 0) << fused.g.last_error();
  const int32_t seq = int32_t(Z_samepageZ_record_end(fused.g.ctx()));
  ASSERT_GT(seq, 0) << fused.g.last_error();
  for (int32_t pos : {0, 5, 14, 3}) {
    SCOPED_TRACE("pos " + std::to_string(pos));
    fused.reset();
    fused.g.at<int32_t>(fused.params_at)[0] = pos;
    ASSERT_EQ(Z_samepageZ_replay(fused.g.ctx(), uint32_t(seq), fused.params_at, 1), 0u) << fused.g.last_error();
    single.reset();
    ASSERT_EQ(single.issue(pos), 0) << single.g.last_error();
    const std::vector<uint8_t> a = fused.results(), b = single.results();
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0) << "fused replay and op-by-op results differ";
    // Not vacuous: the rope moved q (its second token is at pos + 1 > 0), and
    // the k cache holds the stored rows.
    EXPECT_NE(std::memcmp(fused.g.base() + fused.at_q, fused.q0_data, kTokens * kHeads * kHeadDim * 4), 0);
    const uint16_t* kc = fused.g.at<uint16_t>(fused.at_kc) + pos * kKvHeads * kHeadDim;
    bool stored = false;
    for (uint32_t i = 0; i < kKvHeads * kHeadDim; ++i) stored = stored || (kc[i] & 0x7fff) != 0;
    EXPECT_TRUE(stored);
  }
}

// The q/k/v group and the gate/up/silu pair, replayed from a captured graph
// (one kernel each) against the same ops one by one (single GEMVs and the
// elementwise silu_mul): the same sums up to float summation order. With
// norms, each group comes after add(x ← x + o) and rmsnorm(h ← x · w) (the
// residual x and the norms copied out too). With a rope, the q/k/v group is
// followed by an attention block's rope and cache stores on its products
// (6 q heads and 2 kv heads of 32; f16 caches of kCtx rows, copied out).
struct Projections {
  static constexpr uint32_t kK = 512, kQ = 192, kKv = 64, kHeadDim = 32, kCtx = 16;
  uint32_t ff;  // gate and up rows
  FakeGuest g{MemoryMode::MemoryMode_shared, 256, nullptr, backend_named("cuda")};
  uint32_t m;
  bool norms, rope;
  int32_t q3 = 0, k3 = 0, kc = 0, vc = 0;  // with a rope
  int32_t wd = 0, dn = 0;                  // with a down product: dn = gate · wd after the silu
  int32_t x, wq, wk, wv, wg, wu, q, k, v, gate, up;
  int32_t o = 0, h = 0, h2 = 0, w1 = 0, w2 = 0;  // with norms
  std::vector<std::pair<uint32_t, uint32_t>> outs;  // (guest offset, bytes) of the copied results
  std::vector<int32_t> out_views, results;

  int32_t runtime(std::vector<uint32_t> shape) {
    const uint32_t shape_at = g.alloc(16);
    std::memcpy(g.base() + shape_at, shape.data(), shape.size() * 4);
    const int32_t t = int32_t(Z_samepageZ_tensor_alloc(g.ctx(), 0, uint32_t(shape.size()), shape_at, uint32_t(kFlagsDevice)));
    EXPECT_GT(t, 0) << g.last_error();
    return t;
  }
  // A const (n, k) weight of dtype on whole pages of its own.
  int32_t weight(DType dtype, uint32_t n, uint32_t seed, uint32_t k = kK) {
    const std::vector<uint8_t> bytes = cpu::test::random_weights(cpu::DType(dtype), n, k, seed, nullptr);
    const uint32_t shape_at = g.alloc(16);
    g.at<uint32_t>(shape_at)[0] = n;
    g.at<uint32_t>(shape_at)[1] = k;
    const uint32_t at = (g.alloc(bytes.size() + 131072) + 65535) / 65536 * 65536;
    std::memcpy(g.base() + at, bytes.data(), bytes.size());
    const int32_t t = int32_t(Z_samepageZ_tensor_view(g.ctx(), at, uint32_t(dtype), 2, shape_at, uint32_t(kFlagsConst)));
    EXPECT_GT(t, 0) << g.last_error();
    return t;
  }
  int32_t reshape(int32_t t, std::vector<uint32_t> shape) {
    const uint32_t shape_at = g.alloc(16);
    std::memcpy(g.base() + shape_at, shape.data(), shape.size() * 4);
    const int32_t r = int32_t(Z_samepageZ_tensor_reshape(g.ctx(), uint32_t(t), uint32_t(shape.size()), shape_at));
    EXPECT_GT(r, 0) << g.last_error();
    return r;
  }
  Projections(DType dtype, uint32_t rows, bool with_norms = false, bool with_rope = false, uint32_t ff_rows = 384,
              bool with_down = false)
      : ff(ff_rows), m(rows), norms(with_norms), rope(with_rope) {
    std::mt19937 rng(99);
    const int32_t x0 = g.random_f32({m, kK}, rng);
    x = runtime({m, kK});
    EXPECT_EQ(Z_samepageZ_copy(g.ctx(), uint32_t(x), uint32_t(x0)), 0u) << g.last_error();
    wq = weight(dtype, kQ, 1), wk = weight(dtype, kKv, 2), wv = weight(dtype, kKv, 3);
    wg = weight(dtype, ff, 4), wu = weight(dtype, ff, 5);
    q = runtime({m, kQ}), k = runtime({m, kKv}), v = runtime({m, kKv}), gate = runtime({m, ff}), up = runtime({m, ff});
    results = {q, k, v, gate, up};
    std::vector<uint32_t> widths = {kQ, kKv, kKv, ff, ff};
    if (norms) {
      const int32_t o0 = g.random_f32({m, kK}, rng);
      o = runtime({m, kK}), h = runtime({m, kK}), h2 = runtime({m, kK});
      EXPECT_EQ(Z_samepageZ_copy(g.ctx(), uint32_t(o), uint32_t(o0)), 0u) << g.last_error();
      w1 = weight(DType_f32, 1, 6), w2 = weight(DType_f32, 1, 7);  // (1, kK): a row each
      results.insert(results.end(), {x, h, h2});
      widths.insert(widths.end(), {kK, kK, kK});
    }
    std::vector<uint32_t> rows(widths.size(), m);
    if (rope) {
      q3 = reshape(q, {m, kQ / kHeadDim, kHeadDim}), k3 = reshape(k, {m, kKv / kHeadDim, kHeadDim});
      for (int32_t* cache : {&kc, &vc}) {
        const uint32_t shape_at = g.alloc(16);
        g.at<uint32_t>(shape_at)[0] = kCtx;
        g.at<uint32_t>(shape_at)[1] = kKv;
        *cache = int32_t(Z_samepageZ_tensor_alloc(g.ctx(), uint32_t(DType_f16), 2, shape_at, uint32_t(kFlagsDevice)));
        EXPECT_GT(*cache, 0) << g.last_error();
      }
      results.insert(results.end(), {kc, vc});
      widths.insert(widths.end(), {kKv, kKv});
      rows.insert(rows.end(), {kCtx, kCtx});
    }
    if (with_down) {
      wd = weight(dtype, kK, 9, ff);
      dn = runtime({m, kK});
      results.push_back(dn);
      widths.push_back(kK);
      rows.push_back(m);
    }
    for (size_t i = 0; i < widths.size(); ++i) {
      uint32_t at = 0;
      out_views.push_back(g.view(0, {rows[i], widths[i]}, uint64_t(rows[i]) * widths[i] * 4, &at));
      outs.push_back({at, rows[i] * widths[i] * 4});
    }
  }
  // pos: the rope's and the cache rows' position (a literal, or SP_PARAM_BASE).
  int32_t issue(int32_t pos = 0) {
    GuestContext* c = g.ctx();
    const auto u = [](int32_t t) { return uint32_t(t); };
    const int32_t xa = norms ? h : x, xb = norms ? h2 : x;  // the groups' x
    std::vector<uint32_t> rcs;
    if (norms) rcs = {Z_samepageZ_add(c, u(x), u(x), u(o)), Z_samepageZ_rmsnorm(c, u(h), u(x), u(w1), 1e-5f)};
    for (uint32_t rc : {Z_samepageZ_matmul(c, u(q), u(xa), u(wq)), Z_samepageZ_matmul(c, u(k), u(xa), u(wk)),
                        Z_samepageZ_matmul(c, u(v), u(xa), u(wv))})
      rcs.push_back(rc);
    if (rope)
      for (uint32_t rc : {Z_samepageZ_rope(c, u(q3), u(q3), u(pos), 10000.0f, 1.0f, 0),
                          Z_samepageZ_rope(c, u(k3), u(k3), u(pos), 10000.0f, 1.0f, 0),
                          Z_samepageZ_set_rows(c, u(kc), u(k), u(pos)), Z_samepageZ_set_rows(c, u(vc), u(v), u(pos))})
        rcs.push_back(rc);
    if (norms) rcs.insert(rcs.end(), {Z_samepageZ_add(c, u(x), u(x), u(o)), Z_samepageZ_rmsnorm(c, u(h2), u(x), u(w2), 1e-5f)});
    for (uint32_t rc : {Z_samepageZ_matmul(c, u(gate), u(xb), u(wg)), Z_samepageZ_matmul(c, u(up), u(xb), u(wu)),
                        Z_samepageZ_silu_mul(c, u(gate), u(gate), u(up))})
      rcs.push_back(rc);
    if (dn != 0) rcs.push_back(Z_samepageZ_matmul(c, u(dn), u(gate), u(wd)));
    for (size_t i = 0; i < results.size(); ++i) rcs.push_back(Z_samepageZ_copy(c, u(out_views[i]), u(results[i])));
    for (uint32_t rc : rcs)
      if (rc != 0) return int32_t(rc);
    return 0;
  }
  std::vector<double> values() {
    std::vector<double> r;
    for (auto [at, n] : outs)
      for (uint32_t i = 0; i < n / 4; ++i) r.push_back(g.at<float>(at)[i]);
    return r;
  }
  // issue(pos) recorded as a sequence: its handle (0, and a failure reported, when refused).
  int32_t record(int32_t pos = 0) {
    EXPECT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
    EXPECT_EQ(issue(pos), 0) << g.last_error();
    const int32_t seq = int32_t(Z_samepageZ_record_end(g.ctx()));
    EXPECT_GT(seq, 0) << g.last_error();
    return seq;
  }
};

// seq (recorded on fused, no parameters) replayed, and the same ops issued one by one on single.
void replay_beside(Projections& fused, int32_t seq, Projections& single) {
  ASSERT_EQ(Z_samepageZ_replay(fused.g.ctx(), uint32_t(seq), 0, 0), 0u) << fused.g.last_error();
  ASSERT_EQ(single.issue(), 0) << single.g.last_error();
}

// Values [from, to) of a (fused) within tol of b's largest magnitude there,
// which must not be (near) zero.
void expect_close(const std::vector<double>& a, const std::vector<double>& b, size_t from, size_t to, double tol) {
  double worst = 0, scale = 0;
  for (size_t i = from; i < to; ++i) {
    worst = std::max(worst, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  EXPECT_GT(scale, 0.1) << "vacuous: values " << from << ".." << to << " are all (near) zero";
  EXPECT_LE(worst, tol * scale) << "values " << from << ".." << to << ": fused and op by op differ";
}

double backend_stat(FakeGuest& g, const std::string& name) {
  for (const BackendStat& s : g.api().backend().stats())
    if (s.name == name) return s.value;
  return -1;
}

// ff 8,200 (quant weights): the pair's kernel reads two rows of each part a
// warp and the single products four (gemv_group_task_rows), the last task
// part past the end.
TEST_F(CudaFusion, GroupedGemvsMatchOpByOp) {
  for (uint32_t ff : {384u, 8200u}) {
    for (DType dtype : {DType_bf16, DType_f16, DType_f32, DType_q8_0, DType_q4_0, DType_q4_1}) {
      if (ff > 384 && !dtype_is_quantized(dtype)) continue;
      for (uint32_t m : {1u, 3u}) {
        SCOPED_TRACE(std::string(dtype_name(dtype)) + " m=" + std::to_string(m) + " ff=" + std::to_string(ff));
        Projections fused(dtype, m, false, false, ff), single(dtype, m, false, false, ff);
        const int32_t seq = fused.record();
        ASSERT_GT(seq, 0);
        ASSERT_NO_FATAL_FAILURE(replay_beside(fused, seq, single));
        EXPECT_EQ(backend_stat(fused.g, "graph_fused_gemv_steps"), 2.0) << "the group and the pair were not fused";
        const std::vector<double> a = fused.values(), b = single.values();
        ASSERT_EQ(a.size(), b.size());
        expect_close(a, b, 0, a.size(), 1e-5);
      }
    }
  }
}

// The groups after add(x ← x + o) and rmsnorm(h ← x · w): with quant
// weights the fused add + rmsnorm also rounds h to 8-bit blocks where the
// group would (no quantize_x kernel); the products are those of op by op up
// to summation order, the residual and the norms bit for bit. Replayed
// twice: the residual moves on, and the rounding follows it.
TEST_F(CudaFusion, NormRoundsForTheQuantGroupAfterIt) {
  for (DType dtype : {DType_bf16, DType_f32, DType_q8_0, DType_q4_0, DType_q4_1}) {
    SCOPED_TRACE(dtype_name(dtype));
    Projections fused(dtype, 1, true), single(dtype, 1, true);
    const int32_t seq = fused.record();
    ASSERT_GT(seq, 0);
    for (int round = 0; round < 2; ++round) {
      SCOPED_TRACE("replay " + std::to_string(round));
      ASSERT_NO_FATAL_FAILURE(replay_beside(fused, seq, single));
      EXPECT_EQ(backend_stat(fused.g, "graph_rounded_outputs"), dtype_is_quantized(dtype) ? 2.0 : 0.0)
          << "the norms did not round for the quant groups";
      const std::vector<double> a = fused.values(), b = single.values();
      ASSERT_EQ(a.size(), b.size());
      const size_t n_products = a.size() - 3 * Projections::kK;
      expect_close(a, b, 0, n_products, 1e-5);
      size_t differ = 0;
      for (size_t i = n_products; i < a.size(); ++i) differ += std::memcmp(&a[i], &b[i], sizeof(double)) != 0;
      EXPECT_EQ(differ, 0u) << "the residual or a norm is not bit for bit add and rmsnorm's";
    }
  }
}

// Quant weights: the gate/up pair rounds its silu output to 8-bit blocks
// for the down product after it (4 rows of each a task, a CTA's 32 outputs
// one block), so the down product launches no quantize_x: the same bits
// as quantize_x's, so the down product is op by op's up to summation order.
// With norms the pair's own x came rounded by the norm (the scratch's
// second place, so the pair rounds into the first); without, quantize_x
// put it in the first (the pair rounds into the second).
TEST_F(CudaFusion, SiluRoundsForTheQuantProductAfterIt) {
  for (DType dtype : {DType_q8_0, DType_q4_0, DType_q4_1}) {
    for (bool norms : {true, false}) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + (norms ? " after norms" : " alone"));
      Projections fused(dtype, 1, norms, false, 384, true), single(dtype, 1, norms, false, 384, true);
      const int32_t seq = fused.record();
      ASSERT_GT(seq, 0);
      for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE("replay " + std::to_string(round));
        ASSERT_NO_FATAL_FAILURE(replay_beside(fused, seq, single));
        // The down product takes the pair's rounding (and with norms, q/k/v and the pair the norms').
        EXPECT_EQ(backend_stat(fused.g, "graph_rounded_outputs"), norms ? 3.0 : 1.0) << "the pair did not round for down";
        const std::vector<double> a = fused.values(), b = single.values();
        ASSERT_EQ(a.size(), b.size());
        const size_t down_at = a.size() - Projections::kK;
        expect_close(a, b, 0, down_at, 1e-5);
        expect_close(a, b, down_at, a.size(), 1e-5);
      }
    }
  }
}

// The q/k/v group with the rope and cache stores after it (one kernel)
// against the same ops one by one, at several positions of one recorded
// sequence: products, roped q and k up to summation order; the f16 cache
// rows up to one f16 rounding of values that differ so.
TEST_F(CudaFusion, GroupRopesAndStoresLikeOpByOp) {
  for (DType dtype : {DType_bf16, DType_f32, DType_q8_0, DType_q4_0, DType_q4_1}) {
    SCOPED_TRACE(dtype_name(dtype));
    Projections fused(dtype, 1, false, true), single(dtype, 1, false, true);
    const int32_t seq = fused.record(SP_PARAM_BASE);
    ASSERT_GT(seq, 0);
    const uint32_t params_at = fused.g.alloc(8);
    for (int32_t pos : {0, 5, 13}) {
      SCOPED_TRACE("pos " + std::to_string(pos));
      fused.g.at<int32_t>(params_at)[0] = pos;
      ASSERT_EQ(Z_samepageZ_replay(fused.g.ctx(), uint32_t(seq), params_at, 1), 0u) << fused.g.last_error();
      ASSERT_EQ(single.issue(pos), 0) << single.g.last_error();
      EXPECT_EQ(backend_stat(fused.g, "graph_fused_rope_steps"), 1.0) << "the rope and stores were not fused";
      const std::vector<double> a = fused.values(), b = single.values();
      ASSERT_EQ(a.size(), b.size());
      const size_t n_caches = 2 * Projections::kCtx * Projections::kKv, n_products = a.size() - n_caches;
      expect_close(a, b, 0, n_products, 1e-5);
      expect_close(a, b, n_products, a.size(), 2e-3);
      // The rope moved q: the roped output is not the plain product (pos > 0).
      if (pos > 0) {
        Projections plain(dtype, 1);
        ASSERT_EQ(plain.issue(), 0) << plain.g.last_error();
        const std::vector<double> p = plain.values();
        double moved = 0;
        for (size_t i = 0; i < Projections::kQ; ++i) moved = std::max(moved, std::fabs(p[i] - a[i]));
        EXPECT_GT(moved, 1e-3) << "q was not roped";
      }
    }
  }
}

}  // namespace
}  // namespace samepage::test
