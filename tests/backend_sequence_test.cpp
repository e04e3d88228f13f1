// A decode step (and a prompt chunk of 24 tokens) over every backend: one
// transformer layer and the head, as a model guest records it (K/V rows written into the caches by set_rows,
// intermediates in runtime-allocated device tensors, weights const, 2-d and
// 3-d views of the same bytes and reshaped aliases of runtime tensors
// (sp_tensor_reshape), a broadcast bias add, rope with frequency factors
// (sp_rope_ext), in-place adds, positions as replay
// parameters), replayed at several positions and compared with the CPU
// backend running the same ops eagerly. Where the per-op table
// (backend_ops_test.cpp) checks each op alone, this checks that a backend
// which compiles a sequence (a CUDA graph) keeps the data flowing between ops.
#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>

#include "backend_ops_util.h"
#include "host_api_fixture.h"

namespace samepage::test {
namespace {

// head_dim 64 as Llama-3.2-1B's: with 24 tokens the GPU takes its prefill
// paths (cuBLAS for every weight dtype, the tensor-core attention) in one graph.
constexpr uint32_t kDim = 256, kHeads = 8, kKvHeads = 2, kHeadDim = 64, kFfn = 512, kVocab = 512, kCtx = 64;
constexpr int32_t kFlagsConst = 1, kFlagsDevice = 2;

// The step's inputs, in the order Step creates them.
enum Input {
  Input_tokens, Input_emb, Input_wn1, Input_wn2, Input_wnf, Input_wq, Input_wk, Input_wv, Input_wo,
  Input_wg, Input_wu, Input_wd, Input_wout, Input_kc, Input_vc, Input_bq, Input_rope_freqs, Input_count,
};
//
// A chunk of many tokens (prefill) takes float weights only. The CPU rounds a
// quant product's activations to 8-bit blocks, and with random weights that
// rounding makes the step chaotic: scaling one norm weight by 1 + 1e-5 moves
// the CPU's own logits by NMSE 1.6e-4 and its probabilities by 1.3e-2. The
// GPU's batch-1 GEMV rounds exactly as the CPU does, so 1 and 3 tokens stay
// comparable with quant weights; its prefill GEMM (tensor cores, f16
// operands) cannot, and is checked per op instead (the op test's matmul cases
// at m = 9..513, NMSE <= 5e-4). With float weights nothing rounds to 8 bits,
// and the chunk checks the prefill paths composed in one graph.
std::vector<Operand> step_inputs(uint32_t n_tokens) {
  const uint32_t q_dim = kHeads * kHeadDim, kv_dim = kKvHeads * kHeadDim;
  const bool chunk = n_tokens > 8;
  const auto weight = [&](DType quant, DType chunk_dtype) { return chunk ? chunk_dtype : quant; };
  return {
      Operand{DType_i32, {n_tokens}, Fill_tokens, 0, float(kVocab), 0},
      typed(DType_q8_0, {kVocab, kDim}, kFlagsConst),
      Operand{DType_f32, {kDim}, Fill_uniform, 0.5f, 2.0f, kFlagsConst},
      Operand{DType_f32, {kDim}, Fill_uniform, 0.5f, 2.0f, kFlagsConst},
      Operand{DType_f32, {kDim}, Fill_uniform, 0.5f, 2.0f, kFlagsConst},
      typed(DType_bf16, {q_dim, kDim}, kFlagsConst),
      typed(DType_f16, {kv_dim, kDim}, kFlagsConst),
      typed(DType_f32, {kv_dim, kDim}, kFlagsConst),
      typed(weight(DType_q8_0, DType_bf16), {kDim, q_dim}, kFlagsConst),
      typed(weight(DType_q4_0, DType_f16), {kFfn, kDim}, kFlagsConst),
      typed(weight(DType_q4_1, DType_bf16), {kFfn, kDim}, kFlagsConst),
      typed(weight(DType_q8_0, DType_f32), {kDim, kFfn}, kFlagsConst),
      typed(DType_f16, {kVocab, kDim}, kFlagsConst),
      typed(DType_f16, {kCtx, kKvHeads, kHeadDim}),
      typed(DType_f16, {kCtx, kKvHeads, kHeadDim}),
      Operand{DType_f32, {q_dim}, Fill_uniform, -1.0f, 1.0f, kFlagsConst},                // one row, every row gets it
      Operand{DType_f32, {kHeadDim / 2}, Fill_uniform, 0.5f, 8.0f, kFlagsConst},       // Llama 3 style divisors
  };
}

// What the step writes back to guest views, compared after every run.
// The caches last: state that set_rows writes, kept (not poisoned) between runs.
enum Output {
  Output_k, Output_v, Output_logits, Output_probs, Output_argmax, Output_x, Output_x_bf16, Output_kc, Output_vc,
  Output_count,
};

// One guest holding the step's tensors; identical layout in every guest.
class Step {
 public:
  Step(const std::string& backend, MemoryMode mode, uint32_t n_tokens, const std::vector<std::vector<uint8_t>>& data)
      : g_(mode, 256, nullptr, backend_named(backend)), t_(n_tokens) {
    const std::vector<Operand> in = step_inputs(n_tokens);
    uint32_t in_at[Input_count] = {};
    for (int k = 0; k < Input_count; ++k) in_[k] = view(in[size_t(k)], &data[size_t(k)], &in_at[k]);
    out_[Output_kc] = Out{in_[Input_kc], in_at[Input_kc], in[Input_kc]};
    out_[Output_vc] = Out{in_[Input_vc], in_at[Input_vc], in[Input_vc]};
    const uint32_t q_dim = kHeads * kHeadDim, kv_dim = kKvHeads * kHeadDim;
    // q as the model guest holds it: a runtime tensor and its reshaped alias;
    // the first handle is dropped at once (the alias keeps the storage).
    q3_ = reshape(alloc({t_, q_dim}), {t_, kHeads, kHeadDim}, /*free_base=*/true);
    q2_ = reshape(q3_, {t_, q_dim}, false);
    out_[Output_k].handle = k2_ = view(f32({t_, kv_dim}), nullptr, &out_[Output_k].at);
    k3_ = twin(out_[Output_k].at, {t_, kKvHeads, kHeadDim});
    out_[Output_v].handle = view(f32({t_, kv_dim}), nullptr, &out_[Output_v].at);
    att3_ = alloc({t_, kHeads, kHeadDim});
    att2_ = reshape(att3_, {t_, q_dim}, false);
    x_ = alloc({t_, kDim});
    h_ = alloc({t_, kDim});
    o_ = alloc({t_, kDim});
    gate_ = alloc({t_, kFfn});
    up_ = alloc({t_, kFfn});
    out_[Output_logits].handle = view(f32({t_, kVocab}), nullptr, &out_[Output_logits].at);
    out_[Output_probs].handle = view(f32({t_, kVocab}), nullptr, &out_[Output_probs].at);
    out_[Output_argmax].handle = view(typed(DType_i32, {t_}), nullptr, &out_[Output_argmax].at);
    out_[Output_x].handle = view(f32({t_, kDim}), nullptr, &out_[Output_x].at);
    out_[Output_x_bf16].handle = view(typed(DType_bf16, {t_, kDim}), nullptr, &out_[Output_x_bf16].at);
    const Operand shapes[Output_kc] = {f32({t_, kv_dim}),          f32({t_, kv_dim}),
                                          f32({t_, kVocab}),          f32({t_, kVocab}),
                                          typed(DType_i32, {t_}), f32({t_, kDim}),
                                          typed(DType_bf16, {t_, kDim})};
    for (int k = 0; k < Output_kc; ++k) out_[k].shape = shapes[k];
    params_at_ = g_.alloc(8);
  }

  // Issues the step's ops (run now, or recorded); rope positions are pos,
  // attention's pos0 is pos0 (either may be SP_PARAM(k)). Returns the first failure.
  int32_t issue(int32_t pos, int32_t pos0) {
    GuestContext* c = g_.ctx();
    const auto u = [](int32_t h) { return uint32_t(h); };
    const uint32_t rcs[] = {
        Z_samepageZ_embedding(c, u(x_), u(in_[Input_emb]), u(in_[Input_tokens])),
        Z_samepageZ_rmsnorm(c, u(h_), u(x_), u(in_[Input_wn1]), 1e-5f),
        Z_samepageZ_matmul(c, u(q2_), u(h_), u(in_[Input_wq])),
        Z_samepageZ_matmul(c, u(k2_), u(h_), u(in_[Input_wk])),
        Z_samepageZ_matmul(c, u(out_[Output_v].handle), u(h_), u(in_[Input_wv])),
        Z_samepageZ_add(c, u(q2_), u(q2_), u(in_[Input_bq])),
        Z_samepageZ_rope_ext(c, u(q2_), u(q3_), u(in_[Input_rope_freqs]), u(pos), 10000.0f, 1.0f, 0),
        Z_samepageZ_rope(c, u(k3_), u(k3_), u(pos), 10000.0f, 1.0f, 0),
        Z_samepageZ_set_rows(c, u(in_[Input_kc]), u(k2_), u(pos)),
        Z_samepageZ_set_rows(c, u(in_[Input_vc]), u(out_[Output_v].handle), u(pos)),
        Z_samepageZ_attention(c, u(att3_), u(q3_), u(in_[Input_kc]), u(in_[Input_vc]), u(pos0)),
        Z_samepageZ_matmul(c, u(o_), u(att2_), u(in_[Input_wo])),
        Z_samepageZ_add(c, u(x_), u(x_), u(o_)),
        Z_samepageZ_rmsnorm(c, u(h_), u(x_), u(in_[Input_wn2]), 1e-5f),
        Z_samepageZ_matmul(c, u(gate_), u(h_), u(in_[Input_wg])),
        Z_samepageZ_matmul(c, u(up_), u(h_), u(in_[Input_wu])),
        Z_samepageZ_silu_mul(c, u(gate_), u(gate_), u(up_)),
        Z_samepageZ_matmul(c, u(o_), u(gate_), u(in_[Input_wd])),
        Z_samepageZ_add(c, u(x_), u(x_), u(o_)),
        Z_samepageZ_copy(c, u(out_[Output_x].handle), u(x_)),
        Z_samepageZ_copy(c, u(out_[Output_x_bf16].handle), u(x_)),
        Z_samepageZ_rmsnorm(c, u(h_), u(x_), u(in_[Input_wnf]), 1e-5f),
        Z_samepageZ_matmul(c, u(out_[Output_logits].handle), u(h_), u(in_[Input_wout])),
        Z_samepageZ_softmax(c, u(out_[Output_probs].handle), u(out_[Output_logits].handle)),
        Z_samepageZ_argmax(c, u(out_[Output_argmax].handle), u(out_[Output_logits].handle)),
    };
    for (uint32_t rc : rcs)
      if (rc != 0) return int32_t(rc);
    return 0;
  }
  int32_t replay(int32_t seq, int32_t p0, int32_t p1) {
    g_.at<int32_t>(params_at_)[0] = p0;
    g_.at<int32_t>(params_at_)[1] = p1;
    return int32_t(Z_samepageZ_replay(g_.ctx(), seq, params_at_, 2));
  }
  void poison_outputs() {
    for (int k = 0; k < Output_kc; ++k) std::memset(g_.base() + out_[k].at, 0xff, n_bytes(out_[k].shape));
  }

  struct Out {
    int32_t handle = 0;
    uint32_t at = 0;
    Operand shape;
  };
  const Out& out(int k) const { return out_[k]; }
  FakeGuest& guest() { return g_; }
  bool ok() const { return ok_; }

 private:
  // A view of fresh guest bytes, filled before it exists (a const view of whole pages is read-only).
  int32_t view(const Operand& o, const std::vector<uint8_t>* data, uint32_t* at_out) {
    const uint32_t shape_at = g_.alloc(16);
    std::memcpy(g_.base() + shape_at, o.shape.data(), o.shape.size() * 4);
    const uint32_t at = g_.alloc(n_bytes(o));
    if (data != nullptr) std::memcpy(g_.base() + at, data->data(), data->size());
    if (at_out != nullptr) *at_out = at;
    return check(int32_t(Z_samepageZ_tensor_view(g_.ctx(), at, uint32_t(o.dtype), uint32_t(o.shape.size()), shape_at,
                                                  uint32_t(o.flags))));
  }
  // A second f32 view of the bytes at (another shape, same elements).
  int32_t twin(uint32_t at, std::vector<uint32_t> shape) {
    const uint32_t shape_at = g_.alloc(16);
    std::memcpy(g_.base() + shape_at, shape.data(), shape.size() * 4);
    return check(int32_t(Z_samepageZ_tensor_view(g_.ctx(), at, 0, uint32_t(shape.size()), shape_at, 0)));
  }
  // An alias of handle with shape (sp_tensor_reshape); free_base frees handle after.
  int32_t reshape(int32_t handle, std::vector<uint32_t> shape, bool free_base) {
    const uint32_t shape_at = g_.alloc(16);
    std::memcpy(g_.base() + shape_at, shape.data(), shape.size() * 4);
    const int32_t alias = check(int32_t(Z_samepageZ_tensor_reshape(g_.ctx(), uint32_t(handle), uint32_t(shape.size()),
                                                                   shape_at)));
    if (free_base) EXPECT_EQ(Z_samepageZ_tensor_free(g_.ctx(), uint32_t(handle)), 0u) << g_.last_error();
    return alias;
  }
  // A runtime-allocated f32 tensor that may live on the device.
  int32_t alloc(std::vector<uint32_t> shape) {
    const uint32_t shape_at = g_.alloc(16);
    std::memcpy(g_.base() + shape_at, shape.data(), shape.size() * 4);
    return check(int32_t(Z_samepageZ_tensor_alloc(g_.ctx(), 0, uint32_t(shape.size()), shape_at, kFlagsDevice)));
  }
  int32_t check(int32_t handle) {
    EXPECT_GT(handle, 0) << g_.last_error();
    ok_ = ok_ && handle > 0;
    return handle;
  }

  FakeGuest g_;
  uint32_t t_;
  int32_t in_[Input_count] = {};
  int32_t q2_ = 0, q3_ = 0, k2_ = 0, k3_ = 0, att3_ = 0, att2_ = 0;
  int32_t x_ = 0, h_ = 0, o_ = 0, gate_ = 0, up_ = 0;
  Out out_[Output_count];
  uint32_t params_at_ = 0;
  bool ok_ = true;
};

// Compares every output of test with ref's; returns the worst NMSE.
//
// A chunk (prefill: tensor-core GEMMs on 16-bit operands, the tensor-core
// attention on f16 q and probabilities) rounds operands the CPU keeps in f32:
// ~1e-6 NMSE a product, which the random step amplifies (the CPU's own
// logits move by NMSE 6e-7 when its input moves by 1e-10: about 6,000x), so
// what follows the first layer's attention is held to a bound that tells a
// correct step (measured 1e-3 to 2e-2) from a wrong one (order 1), and the
// products themselves are checked op by op at 1e-5 (the op test, m = 9..513).
// k and v come before any of that and keep the 16-bit bound.
double compare(Step& test, Step& ref, bool self, const char* how, int32_t pos, int32_t pos0, uint32_t n_tokens) {
  const bool chunk = n_tokens > 8;
  double worst = 0;
  for (int k = 0; k < Output_count; ++k) {
    // The loosest dtype the step reads: a quant type, or 16-bit floats in a chunk.
    const bool amplified = chunk && k != Output_k && k != Output_v && k != Output_kc && k != Output_vc;
    const double bound = amplified ? 5e-2 : chunk ? kMaxNmse[DType_bf16] : kMaxNmse[DType_q4_0];
    const Step::Out& o = ref.out(k);
    const uint8_t* want = ref.guest().base() + o.at;
    const uint8_t* got = test.guest().base() + test.out(k).at;
    const uint64_t n = n_elements(o.shape), bytes = n_bytes(o.shape);
    SCOPED_TRACE(std::string(how) + " output " + std::to_string(k) + " pos " + std::to_string(pos) + " pos0 " +
                 std::to_string(pos0));
    if (self) {
      EXPECT_EQ(std::memcmp(got, want, bytes), 0) << "not bit-identical";
      continue;
    }
    if (k == Output_argmax) {
      // A backend's rounding may swap two logits within its error: exact only
      // where the reference's top two are apart.
      const float* logits = reinterpret_cast<const float*>(ref.guest().base() + ref.out(Output_logits).at);
      for (uint64_t r = 0; r < n; ++r) {
        std::vector<float> row(logits + r * kVocab, logits + (r + 1) * kVocab);
        std::partial_sort(row.begin(), row.begin() + 2, row.end(), std::greater<float>());
        if (row[0] - row[1] <= (chunk ? 5e-2f : 1e-3f) * std::fabs(row[0])) continue;
        EXPECT_EQ(reinterpret_cast<const int32_t*>(got)[r], reinterpret_cast<const int32_t*>(want)[r]) << "row " << r;
      }
      continue;
    }
    const double e = nmse(decode(o.shape.dtype, got, n), decode(o.shape.dtype, want, n));
    EXPECT_LE(e, bound);
    worst = std::max(worst, e);
  }
  return worst;
}

class DecodeStep : public ::testing::TestWithParam<BackendMode> {};

TEST_P(DecodeStep, MatchesCpuReference) {
  const BackendMode& target = GetParam();
  if (const std::string why = backend_unavailable(target.backend); !why.empty()) GTEST_SKIP() << why;
  const bool self = target.backend == kReferenceBackend;
  int n_comparisons = 0;
  double worst = 0;
  for (uint32_t n_tokens : {1u, 3u, 24u}) {
    SCOPED_TRACE("n_tokens " + std::to_string(n_tokens));
    const std::vector<Operand> in = step_inputs(n_tokens);
    std::vector<std::vector<uint8_t>> data;
    for (size_t k = 0; k < in.size(); ++k) data.push_back(make_input(in[k], 7000 + 16 * n_tokens + uint32_t(k)));
    Step ref(kReferenceBackend, MemoryMode::MemoryMode_shared, n_tokens, data);
    Step test(target.backend, target.mode, n_tokens, data);
    ASSERT_TRUE(ref.ok() && test.ok());

    auto run_ref = [&](int32_t pos, int32_t pos0) { ASSERT_EQ(ref.issue(pos, pos0), 0) << ref.guest().last_error(); };
    // Eager on the backend under test.
    test.poison_outputs();
    const int32_t rc = test.issue(5, 5);
    if (rc == SP_ERR_UNSUPPORTED && !self) GTEST_SKIP() << "an op the step needs: " << test.guest().last_error();
    ASSERT_EQ(rc, 0) << test.guest().last_error();
    run_ref(5, 5);
    worst = std::max(worst, compare(test, ref, self, "eager", 5, 5, n_tokens));
    ++n_comparisons;

    // Recorded once, rope positions SP_PARAM(0) and attention's pos0 SP_PARAM(1).
    ASSERT_EQ(Z_samepageZ_record_begin(test.guest().ctx()), 0u);
    ASSERT_EQ(test.issue(SP_PARAM_BASE - 0, SP_PARAM_BASE - 1), 0) << test.guest().last_error();
    const int32_t seq = int32_t(Z_samepageZ_record_end(test.guest().ctx()));
    ASSERT_GT(seq, 0) << test.guest().last_error();
    const int32_t last = int32_t(kCtx - n_tokens);
    const std::array<int32_t, 2> blocks[] = {{0, 0}, {last, last}, {12, 3}, {5, 5}};
    for (const auto& b : blocks) {
      test.poison_outputs();
      ASSERT_EQ(test.replay(seq, b[0], b[1]), 0) << test.guest().last_error();
      run_ref(b[0], b[1]);
      worst = std::max(worst, compare(test, ref, self, "replayed", b[0], b[1], n_tokens));
      ++n_comparisons;
    }
  }
  std::printf("[ BackendOps ] %s/%s decode step: %d runs x %d outputs, worst NMSE %.3g\n", target.backend.c_str(),
              memory_mode_name(target.mode), n_comparisons, int(Output_count), worst);
}

INSTANTIATE_TEST_SUITE_P(BackendOps, DecodeStep, ::testing::ValuesIn(every_backend_mode()),
                         [](const ::testing::TestParamInfo<BackendMode>& i) {
                           return i.param.backend + "_" + memory_mode_name(i.param.mode);
                         });

}  // namespace
}  // namespace samepage::test
