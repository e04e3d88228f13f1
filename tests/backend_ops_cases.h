// The case table of the op test over every backend (backend_ops_test.cpp):
// one OpCase per op × dtypes × shapes × scalars. A new op is a GuestOp value,
// one line in call_op and rows here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "samepage/backend.h"

namespace samepage::test {

// The guest entry points under test, one per op (guest-sdk/include/samepage.h).
enum GuestOp {
  GuestOp_matmul,
  GuestOp_rmsnorm,
  GuestOp_rope,
  GuestOp_attention,
  GuestOp_silu_mul,
  GuestOp_add,
  GuestOp_scale,
  GuestOp_embedding,
  GuestOp_softmax,
  GuestOp_argmax,
  GuestOp_copy,
  GuestOp_set_rows,
  GuestOp_rope_ext,  // rope with frequency factors: in = {x, factors}
  GuestOp_get_rows,  // rows of a cache read out (converted): out = in[0] rows [i[0], ...)
  GuestOp_count,
};
inline const char* guest_op_name(GuestOp op) {
  static const char* const names[GuestOp_count] = {"matmul",    "rmsnorm", "rope",   "attention", "silu_mul", "add",
                                                   "scale",     "embedding", "softmax", "argmax", "copy", "set_rows",
                                                   "rope_ext", "get_rows"};
  return op < GuestOp_count ? names[op] : "?";
}

// How an input's values are drawn (a fixed-seed RNG; never all zeros).
enum Fill {
  Fill_uniform,   // uniform in [lo, hi), rounded once into the dtype (quant: the reference quantizer)
  Fill_masked,    // uniform, every third element -inf, as softmax sees a causal mask
  Fill_ties_nan,  // whole numbers in [lo, hi) (ties everywhere), NaN sprinkled, the last row all NaN,
                  // +inf twice in row 0, row 1 nothing but -inf and NaN
  Fill_ties,      // whole numbers in [lo, hi): the maximum recurs all along a row
  Fill_tokens,    // i32 in [lo, hi); the first is lo and the last hi - 1
};

struct Operand {
  DType dtype = DType_f32;
  std::vector<uint32_t> shape;  // outermost first
  Fill fill = Fill_uniform;
  float lo = -1.0f, hi = 1.0f;
  int32_t flags = 0;  // SP_CONST (1) for weights, as a model guest declares them
  // Non-empty: the op gets an alias of the view with this shape (sp_tensor_reshape),
  // and the view's own handle is freed first: the alias alone keeps the bytes.
  std::vector<uint32_t> reshape = {};
};

// Bits of OpCase::param_mask: which i32 scalars are replay parameters.
constexpr uint32_t kParam0 = 1;

struct OpCase {
  GuestOp op = GuestOp_count;
  Operand out;               // argmax: the i32 results, one per row of x
  std::vector<Operand> in;   // in the entry point's order
  float f[2] = {0, 0};       // float scalars in the entry point's order
  int32_t i[2] = {0, 0};     // i32 scalars (positions, modes) for the eager run
  uint32_t param_mask = 0;   // i[k] is recorded as SP_PARAM(k) when bit k is set
  // Parameter blocks to replay with (params[k] stands for i[k]); at least two
  // distinct ones when param_mask is set; none given: two plain replays.
  std::vector<std::array<int32_t, 2>> replays;
  int in_place = -1;  // >= 0: out is the handle of in[in_place] (elementwise ops, rope, norms)
  double max_nmse = -1;  // < 0: by dtype (kMaxNmse); else this bound, its reason next to the row
};

inline Operand f32(std::vector<uint32_t> shape, float lo = -1.0f, float hi = 1.0f) {
  return Operand{DType_f32, std::move(shape), Fill_uniform, lo, hi, 0};
}
inline Operand typed(DType dtype, std::vector<uint32_t> shape, int32_t flags = 0) {
  return Operand{dtype, std::move(shape), Fill_uniform, -1.0f, 1.0f, flags};
}

constexpr DType kWeightDtypes[] = {DType_f32,  DType_f16,  DType_bf16,
                                         DType_q8_0, DType_q4_0, DType_q4_1};
constexpr DType kFloatDtypes[] = {DType_f32, DType_f16, DType_bf16};
inline bool is_quant(DType d) { return d == DType_q8_0 || d == DType_q4_0 || d == DType_q4_1; }

inline std::vector<OpCase> backend_op_cases() {
  std::vector<OpCase> cases;
  auto add = [&](GuestOp op, Operand out, std::vector<Operand> in) -> OpCase& {
    OpCase c;
    c.op = op;
    c.out = std::move(out);
    c.in = std::move(in);
    cases.push_back(std::move(c));
    return cases.back();
  };

  // matmul: out (m, n) = x (m, k) · w (n, k)ᵀ. m = 1 is the decode GEMV, m >= 16
  // the CPU's sgemm path for float weights (15/16/17 straddle it); odd k for
  // float weights, odd block counts (96, 160) for quant ones; n odd.
  struct Mnk { uint32_t m, n, k; };
  for (DType w : kWeightDtypes) {
    std::vector<Mnk> shapes = {{1, 129, 256}, {7, 17, 96}, {1, 33, 160}, {15, 17, 64}, {17, 31, 128},
                               {64, 512, 256}, {20, 300, 64}};  // n = 300: the sgemm path widens 256 rows at a time
    // The GPU's GEMM (cuBLAS) from m = 9, just past its widest GEMV (8), to a
    // 512-token prefill chunk plus one; n and k off every tile size.
    shapes.insert(shapes.end(), {{9, 33, 160}, {100, 70, 96}, {513, 130, 288}});
    if (!is_quant(w)) shapes.insert(shapes.end(), {{1, 17, 33}, {16, 9, 101}, {3, 1, 7}, {9, 17, 33}, {65, 40, 200}});
    for (const Mnk& s : shapes) add(GuestOp_matmul, f32({s.m, s.n}), {f32({s.m, s.k}), typed(w, {s.n, s.k}, 1)});
  }
  // Rank 3 activations: rows are all but the last dim.
  add(GuestOp_matmul, f32({2, 3, 17}), {f32({2, 3, 64}), typed(DType_q4_1, {17, 64}, 1)});
  add(GuestOp_matmul, f32({6, 5}), {f32({2, 3, 40}), typed(DType_f16, {5, 40})});
  // Large decode-sized ones, few: a Llama-1B-like projection.
  add(GuestOp_matmul, f32({1, 8192}), {f32({1, 2048}), typed(DType_q4_0, {8192, 2048}, 1)});
  add(GuestOp_matmul, f32({1, 2048}), {f32({1, 4096}), typed(DType_bf16, {2048, 4096}, 1)});
  add(GuestOp_matmul, f32({1, 4096}), {f32({1, 2048}), typed(DType_q8_0, {4096, 2048}, 1)});
  // Many short quant rows: the GPU reads four a warp, the last ones past the end.
  add(GuestOp_matmul, f32({3, 8197}), {f32({3, 576}), typed(DType_q8_0, {8197, 576}, 1)});
  add(GuestOp_matmul, f32({1, 8195}), {f32({1, 256}), typed(DType_q4_1, {8195, 256}, 1)});
  // The GPU's streamed GEMV (one row of x): 70,001 short rows end in a part
  // stage; 40,003 rows of k 2,048 (2,501 stages of 16 rows over 132 CTAs,
  // 19 a CTA on a ring of 8) take each CTA's ring round twice; k of 4,096
  // gives a lane 4 blocks of a row, q8_0 of k 8,192 8 blocks on a ring of 2
  // stages that 3,001 rows take round once.
  add(GuestOp_matmul, f32({1, 70001}), {f32({1, 256}), typed(DType_q4_0, {70001, 256}, 1)});
  add(GuestOp_matmul, f32({1, 40003}), {f32({1, 2048}), typed(DType_q4_0, {40003, 2048}, 1)});
  add(GuestOp_matmul, f32({1, 1003}), {f32({1, 4096}), typed(DType_q4_1, {1003, 4096}, 1)});
  add(GuestOp_matmul, f32({1, 3001}), {f32({1, 8192}), typed(DType_q8_0, {3001, 8192}, 1)});
  add(GuestOp_matmul, f32({128, 384}), {f32({128, 512}), typed(DType_f16, {384, 512}, 1)});
  // SmolLM2-135M's widths (576 = 18 blocks: rows that end in two), a prompt
  // chunk of 8 rows (the GPU's widest GEMV) and the tied q8_0 head.
  for (DType w : {DType_q8_0, DType_q4_0, DType_q4_1}) {
    add(GuestOp_matmul, f32({8, 1536}), {f32({8, 576}), typed(w, {1536, 576}, 1)});
    add(GuestOp_matmul, f32({1, 576}), {f32({1, 1536}), typed(w, {576, 1536}, 1)});
  }
  add(GuestOp_matmul, f32({1, 4096}), {f32({1, 576}), typed(DType_q8_0, {4096, 576}, 1)});
  // The staged GEMV (k % 256 == 0, gemv_plan.h): m = 1..8; k of 1 and 3
  // segments (a stage of q4_0 holds 7, so stages straddle rows); n = 7001,
  // more rows than warps on an H200, gives warps two rows and the last one
  // a single row; n = 5, fewer rows than a CTA's warps; quant x of m·k <=
  // 8192 is rounded inside the GEMV, 6 × 1536 = 9216 by quantize_x first.
  // Non-const weights (flags 0) stay in registered guest memory: cp.async
  // over mapped host pages.
  for (DType w : kWeightDtypes) {
    for (const Mnk& s : std::vector<Mnk>{{1, 7001, 256}, {2, 37, 768}, {5, 5, 512}, {8, 300, 256}, {3, 64, 1024},
                                         {6, 50, 1536}})
      add(GuestOp_matmul, f32({s.m, s.n}), {f32({s.m, s.k}), typed(w, {s.n, s.k}, 1)});
    add(GuestOp_matmul, f32({4, 33}), {f32({4, 256}), typed(w, {33, 256})});
  }
  // x as an SP_DEVICE view (in HBM on a GPU backend, as a guest's runtime
  // activations): there the staged quant GEMV rounds x itself, in each CTA.
  for (DType w : {DType_q8_0, DType_q4_0, DType_q4_1})
    for (const Mnk& s : std::vector<Mnk>{{1, 300, 2048}, {4, 77, 512}, {1, 2048, 8192}, {3, 9, 1024}})
      add(GuestOp_matmul, f32({s.m, s.n}),
          {Operand{DType_f32, {s.m, s.k}, Fill_uniform, -1.0f, 1.0f, 2}, typed(w, {s.n, s.k}, 1)});

  // rmsnorm: rows of x times w, eps.
  using Shapes = std::vector<std::vector<uint32_t>>;
  for (const std::vector<uint32_t>& shape : Shapes{{1, 4096}, {5, 33}, {3, 1}, {2, 3, 64}, {2, 2, 2, 48}}) {
    const uint32_t n = shape.back();
    add(GuestOp_rmsnorm, f32(shape), {f32(shape, -4, 4), f32({n}, 0.5f, 2.0f)}).f[0] = 1e-5f;
  }
  add(GuestOp_rmsnorm, f32({4, 768}), {f32({4, 768}, -1e-3f, 1e-3f), f32({768})}).f[0] = 1e-6f;

  // rope: x (tokens, heads, head_dim); i = {pos, mode}, f = {freq_base, freq_scale}. pos is a parameter.
  struct Rope { std::vector<uint32_t> shape; float base, scale; };
  const Rope ropes[] = {{{1, 32, 128}, 500000.0f, 1.0f}, {{5, 7, 64}, 10000.0f, 1.0f}, {{3, 3, 2}, 10000.0f, 0.25f},
                        {{17, 5, 80}, 1000000.0f, 1.0f}};
  for (const Rope& r : ropes)
    for (int32_t mode : {0, 1}) {
      OpCase& c = add(GuestOp_rope, f32(r.shape), {f32(r.shape, -2, 2)});
      c.f[0] = r.base, c.f[1] = r.scale, c.i[0] = 17, c.i[1] = mode;
      c.param_mask = kParam0;
      c.replays = {{0, 0}, {4095, 0}};
    }
  {  // Long contexts. The CPU takes angles pos·θᵢ in double; one in f32 is off by
     // up to pos·2⁻²⁴ rad (6e-3 at 10⁵), NMSE ~1e-6: allowed, as in ggml.
    OpCase& c = add(GuestOp_rope, f32({2, 8, 128}), {f32({2, 8, 128}, -2, 2)});
    c.f[0] = 500000.0f, c.f[1] = 1.0f, c.i[0] = 100000, c.i[1] = 1;
    c.param_mask = kParam0;
    c.replays = {{131070, 0}, {65536, 0}};
    c.max_nmse = 1e-5;
  }

  // attention: q (T, H, D) against k, v caches (C, KVH, D) from position 0 to
  // pos0 + t; pos0 is a parameter. GQA (H a multiple of KVH), MHA, odd head
  // counts, visible lengths from 1 to 2001.
  struct Attn { uint32_t t, h, kvh, d, c; int32_t pos0; std::vector<std::array<int32_t, 2>> replays; };
  const Attn attns[] = {{1, 8, 2, 64, 1000, 999, {{0, 0}, {500, 0}}},
                        {7, 6, 3, 32, 64, 0, {{10, 0}, {57, 0}}},
                        {1, 5, 5, 128, 4, 0, {{3, 0}, {1, 0}}},
                        {4, 32, 8, 128, 300, 100, {{296, 0}, {0, 0}}},
                        {3, 9, 1, 16, 20, 2, {{17, 0}, {5, 0}}},
                        {16, 8, 2, 64, 1000, 900, {{984, 0}, {0, 0}}},  // a prefill chunk late in a long context
                        // Many query tokens: the GPU's tensor-core prefill kernel (from 16 tokens, head_dim
                        // 64 or 128, 16-bit caches): tiles of 64 tokens, whole and partial, GQA and MHA.
                        {64, 8, 2, 64, 1100, 0, {{1000, 0}, {7, 0}}},
                        {100, 6, 2, 128, 400, 37, {{0, 0}, {300, 0}}},
                        {130, 4, 1, 64, 700, 3, {{570, 0}, {0, 0}}},
                        {17, 5, 5, 128, 50, 1, {{33, 0}, {0, 0}}},
                        {513, 4, 2, 64, 600, 0, {{87, 0}, {1, 0}}},
                        {40, 4, 2, 32, 64, 5, {{0, 0}, {24, 0}}},  // head_dim 32: the per-query kernel
                        // One token over long contexts: the GPU's decode kernel splits a head among a
                        // cluster of blocks past a few hundred positions (head_dim 128, 256, and 48: no
                        // whole 32-element runs).
                        {1, 32, 8, 128, 2100, 2000, {{300, 0}, {1500, 0}}},
                        {2, 4, 2, 256, 700, 600, {{400, 0}, {0, 0}}},
                        {1, 4, 4, 48, 600, 550, {{270, 0}, {5, 0}}}};
  for (DType kv : kFloatDtypes)
    for (const Attn& a : attns) {
      OpCase& c = add(GuestOp_attention, f32({a.t, a.h, a.d}),
                      {f32({a.t, a.h, a.d}), typed(kv, {a.c, a.kvh, a.d}), typed(kv, {a.c, a.kvh, a.d})});
      c.i[0] = a.pos0;
      c.param_mask = kParam0;
      c.replays = a.replays;
    }

  // Elementwise: any shape, counts matching.
  for (const std::vector<uint32_t>& shape : Shapes{{1}, {33}, {7, 4096}, {3, 5, 7}, {2, 3, 4, 5}}) {
    add(GuestOp_silu_mul, f32(shape), {f32(shape, -8, 8), f32(shape, -2, 2)});
    add(GuestOp_add, f32(shape), {f32(shape, -8, 8), f32(shape, -8, 8)});
    add(GuestOp_scale, f32(shape), {f32(shape, -8, 8)}).f[0] = 0.37f;
  }
  add(GuestOp_silu_mul, f32({2, 64}), {f32({2, 64}, -100, 100), f32({2, 64})});  // saturation, no NaN
  // In place: out is an input's own handle.
  add(GuestOp_silu_mul, f32({3, 40}), {f32({3, 40}, -8, 8), f32({3, 40})}).in_place = 1;
  add(GuestOp_add, f32({1000}), {f32({1000}), f32({1000})}).in_place = 0;
  add(GuestOp_scale, f32({5, 9}), {f32({5, 9})}).in_place = 0;
  {
    OpCase& c = add(GuestOp_rmsnorm, f32({3, 64}), {f32({3, 64}), f32({64})});
    c.f[0] = 1e-5f, c.in_place = 0;
  }
  add(GuestOp_softmax, f32({3, 50}), {f32({3, 50}, -5, 5)}).in_place = 0;
  {
    OpCase& c = add(GuestOp_rope, f32({2, 3, 32}), {f32({2, 3, 32})});
    c.f[0] = 10000.0f, c.f[1] = 1.0f, c.i[0] = 5, c.i[1] = 1, c.in_place = 0;
    c.param_mask = kParam0;
    c.replays = {{0, 0}, {77, 0}};
  }
  add(GuestOp_scale, f32({129}), {f32({129})}).f[0] = -2.5e30f;
  // add broadcasting one row of b (a bias, {d} or {1, d}) over a's rows, in place too.
  add(GuestOp_add, f32({7, 4096}), {f32({7, 4096}, -8, 8), f32({4096}, -8, 8)});
  add(GuestOp_add, f32({3, 5, 7}), {f32({3, 5, 7}), f32({1, 7})});
  add(GuestOp_add, f32({1, 33}), {f32({1, 33}), f32({33})});
  add(GuestOp_add, f32({9, 64}), {f32({9, 64}), f32({64})}).in_place = 0;

  // Reshaped aliases: a matmul's (n, heads*head_dim) roped as (n, heads, head_dim)
  // in place, and an elementwise op on a 2-d alias of 3-d bytes.
  {
    Operand x = f32({3, 4 * 32}, -2, 2);
    x.reshape = {3, 4, 32};
    OpCase& c = add(GuestOp_rope, f32({3, 4, 32}), {x});
    c.f[0] = 10000.0f, c.f[1] = 1.0f, c.i[0] = 9, c.i[1] = 1, c.in_place = 0;
    c.param_mask = kParam0;
    c.replays = {{0, 0}, {300, 0}};
  }
  {
    Operand a = f32({2, 3, 8});
    a.reshape = {6, 8};
    add(GuestOp_add, f32({6, 8}), {a, f32({8})}).in_place = 0;
  }

  // rope_ext: rope with per-pair factors (head_dim / 2) f32, as Llama 3.1+'s
  // rope_freqs.weight (1 for short wavelengths up to 32 for long ones).
  for (int32_t mode : {0, 1})
    for (const Rope& r : {Rope{{1, 32, 64}, 500000.0f, 1.0f}, Rope{{5, 3, 128}, 10000.0f, 0.5f}}) {
      const uint32_t n_pairs = r.shape.back() / 2;
      OpCase& c = add(GuestOp_rope_ext, f32(r.shape), {f32(r.shape, -2, 2), f32({n_pairs}, 1.0f, 32.0f)});
      c.f[0] = r.base, c.f[1] = r.scale, c.i[0] = 17, c.i[1] = mode;
      c.param_mask = kParam0;
      c.replays = {{0, 0}, {8191, 0}};
    }
  {
    OpCase& c = add(GuestOp_rope_ext, f32({2, 4, 16}), {f32({2, 4, 16}), f32({8}, 0.25f, 4.0f)});
    c.f[0] = 10000.0f, c.f[1] = 1.0f, c.i[0] = 3, c.i[1] = 0, c.in_place = 0;
    c.param_mask = kParam0;
    c.replays = {{1, 0}, {40, 0}};
  }

  // embedding: rows of a table of every weight dtype, tokens covering both ends.
  for (DType d : kWeightDtypes)
    for (uint32_t n_tokens : {1u, 17u}) {
      const uint32_t vocab = 100, dim = is_quant(d) ? 96 : 33;
      Operand tokens{DType_i32, {n_tokens}, Fill_tokens, 0, float(vocab), 0};
      add(GuestOp_embedding, f32({n_tokens, dim}), {typed(d, {vocab, dim}, 1), tokens});
    }

  {  // Tokens of rank 2, out of rank 3.
    Operand tokens{DType_i32, {2, 3}, Fill_tokens, 0, 50, 0};
    add(GuestOp_embedding, f32({2, 3, 64}), {typed(DType_q4_0, {50, 64}), tokens});
  }

  // softmax: rows, large values (stability), masked rows.
  add(GuestOp_softmax, f32({1, 1}), {f32({1, 1})});
  add(GuestOp_softmax, f32({2, 3, 4, 9}), {f32({2, 3, 4, 9}, -3, 3)});
  add(GuestOp_softmax, f32({3, 33}), {f32({3, 33}, -10, 10)});
  add(GuestOp_softmax, f32({2, 32000}), {f32({2, 32000}, -20, 20)});
  add(GuestOp_softmax, f32({4, 100}), {f32({4, 100}, 990, 1010)});
  add(GuestOp_softmax, f32({4, 100}), {f32({4, 100}, -3000, -2900)});
  add(GuestOp_softmax, f32({5, 77}), {Operand{DType_f32, {5, 77}, Fill_masked, -5, 5, 0}});

  // argmax: first maximum; NaN ignored, an all-NaN row gives 0 (samepage.h).
  add(GuestOp_argmax, typed(DType_i32, {1}), {f32({1, 32000}, -10, 10)});
  add(GuestOp_argmax, typed(DType_i32, {5}), {f32({5, 7})});
  add(GuestOp_argmax, typed(DType_i32, {1}), {f32({1, 1})});
  add(GuestOp_argmax, typed(DType_i32, {6}), {f32({2, 3, 129})});
  add(GuestOp_argmax, typed(DType_i32, {6}), {Operand{DType_f32, {6, 50}, Fill_ties_nan, -3, 3, 0}});
  // One long row (a vocabulary head's logits), which a GPU may search with
  // many blocks: the first maximum among thousands of ties, and no maximum.
  add(GuestOp_argmax, typed(DType_i32, {1}), {f32({1, 128256}, -10, 10)});
  add(GuestOp_argmax, typed(DType_i32, {1}), {Operand{DType_f32, {1, 128256}, Fill_ties, -3, 3, 0}});
  add(GuestOp_argmax, typed(DType_i32, {1}), {Operand{DType_f32, {1, 40000}, Fill_ties_nan, -3, 3, 0}});

  // copy: every float conversion, and same-dtype byte copies of the others.
  for (DType from : kFloatDtypes)
    for (DType to : kFloatDtypes)
      for (const std::vector<uint32_t>& shape : Shapes{{1}, {7, 33}, {4096}})
        add(GuestOp_copy, typed(to, shape), {typed(from, shape)});
  for (DType d : {DType_q8_0, DType_q4_0, DType_q4_1})
    add(GuestOp_copy, typed(d, {3, 64}), {typed(d, {3, 64})});
  add(GuestOp_copy, typed(DType_i32, {37}), {Operand{DType_i32, {37}, Fill_tokens, -1000, 1000, 0}});

  // set_rows: rows of every float dtype into a cache of every float dtype
  // (the same dtype: bytes, as a session restore writes saved rows; another:
  // converted) at row0, a parameter; the cache is an input too (rows outside
  // stay), so out is in[0].
  struct Rows { std::vector<uint32_t> dst, src; int32_t row0; std::vector<std::array<int32_t, 2>> replays; };
  const Rows rows[] = {{{64, 2, 32}, {1, 2, 32}, 5, {{0, 0}, {63, 0}}},
                       {{64, 2, 32}, {7, 64}, 9, {{57, 0}, {0, 0}}},
                       {{1000, 8, 128}, {1, 8, 128}, 999, {{500, 0}, {0, 0}}},
                       {{33, 5}, {33, 5}, 0, {{0, 0}, {0, 0}}}};
  for (DType from : kFloatDtypes)
    for (DType kv : kFloatDtypes)
      for (const Rows& r : rows) {
        const Operand src{from, r.src, Fill_uniform, -2, 2, 0};
        OpCase& c = add(GuestOp_set_rows, typed(kv, r.dst), {typed(kv, r.dst), src});
        c.i[0] = r.row0;
        c.param_mask = kParam0;
        c.replays = r.replays;
        c.in_place = 0;
      }
  // get_rows: a cache's rows [row0, row0 + out rows) read out, converted into
  // every float dtype (the session snapshot saves in the cache's own dtype).
  struct Read { std::vector<uint32_t> out, src; int32_t row0; std::vector<std::array<int32_t, 2>> replays; };
  const Read reads[] = {{{1, 2, 32}, {64, 2, 32}, 5, {{0, 0}, {63, 0}}},
                        {{7, 64}, {64, 2, 32}, 9, {{57, 0}, {0, 0}}},
                        {{24, 3, 64}, {2048, 3, 64}, 2000, {{0, 0}, {1024, 0}}},
                        {{33, 5}, {33, 5}, 0, {{0, 0}, {0, 0}}}};
  for (DType from : kFloatDtypes)
    for (DType to : kFloatDtypes)
      for (const Read& r : reads) {
        OpCase& c = add(GuestOp_get_rows, typed(to, r.out), {Operand{from, r.src, Fill_uniform, -2, 2, 0}});
        c.i[0] = r.row0;
        c.param_mask = kParam0;
        c.replays = r.replays;
      }
  return cases;
}

}  // namespace samepage::test
