#include "model_plan.h"

#include <cmath>

#include "vocab.h"

namespace synth {
namespace {

// Scales, uniform +-gain/sqrt(fan_in), chosen so greedy decoding of a random
// model wanders through the vocabulary instead of repeating its last token
// (checked with tests/llm/reference_forward.py): the layers' outputs
// (attn_output, ffn_down) outweigh the token's own embedding in the residual
// stream, as in trained models (SmolLM2-135M: rms*sqrt(fan_in) is 1.5 for
// attn_output, 7.6 for ffn_down, 3.3 for token_embd; output_norm ~1.8).
constexpr float kInputProjGain = 2.0f;   // q, k, v, gate, up
constexpr float kOutputProjGain = 8.0f;  // attn_output, ffn_down
constexpr float kEmbdScale = 2.0f;       // token_embd and output: logits' std near 2.3
constexpr float kOutputNormCenter = 2.0f;
constexpr float kNormHalfWidth = 0.2f;   // norms in center +- 0.2 (1 for layers)
constexpr float kBiasHalfWidth = 0.1f;

TensorPlan tensor(std::string name, std::vector<uint64_t> dims, Dtype type, float center,
                  float half_width) {
  TensorPlan t;
  t.name = std::move(name);
  t.dims = std::move(dims);
  t.type = type;
  t.n_elems = 1;
  for (uint64_t d : t.dims) t.n_elems *= d;
  t.center = center;
  t.half_width = half_width;
  return t;
}

TensorPlan matrix(std::string name, uint64_t fan_in, uint64_t rows, Dtype type, float gain = 1.0f) {
  return tensor(std::move(name), {fan_in, rows}, type, 0.0f,
                gain / std::sqrt(static_cast<float>(fan_in)));
}

// Llama 3's per-frequency divisors of the RoPE angle (convert_hf_to_gguf's
// rope_freqs: 1 for short wavelengths, factor for long, smooth between).
std::vector<float> llama3_rope_factors(const Shape& s) {
  const Llama3RopeScaling& r = s.rope_scaling;
  const double low_wavelen = r.original_context / r.low_freq_factor;
  const double high_wavelen = r.original_context / r.high_freq_factor;
  std::vector<float> out;
  for (uint32_t i = 0; i < s.head_dim() / 2; ++i) {
    const float freq = 1.0f / std::pow(s.rope_base, 2.0f * static_cast<float>(i) / static_cast<float>(s.head_dim()));
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(r.factor);
    } else {
      const double smooth = (r.original_context / wavelen - r.low_freq_factor) /
                            (r.high_freq_factor - r.low_freq_factor);
      out.push_back(static_cast<float>(1.0 / ((1 - smooth) / r.factor + smooth)));
    }
  }
  return out;
}

}  // namespace

Dtype default_embd_dtype(Dtype dtype) {
  return dtype == DTYPE_Q4_0 || dtype == DTYPE_Q4_1 ? DTYPE_Q8_0 : dtype;
}

std::string architecture(const Options& o) { return o.qkv_bias ? "qwen2" : "llama"; }

std::vector<TensorPlan> plan_tensors(const Options& o, std::string* error) {
  const Shape& s = o.shape;
  if (s.n_head == 0 || s.n_head_kv == 0 || s.n_embd % s.n_head != 0 || s.n_head % s.n_head_kv != 0 ||
      s.head_dim() % 2 != 0 || s.n_vocab < 259 + 1) {
    *error = "[synth] shape '" + s.name + "' is inconsistent (heads, head_dim or vocab)";
    return {};
  }
  const uint64_t n_embd = s.n_embd, n_ff = s.n_ff, n_kv = uint64_t{s.n_head_kv} * s.head_dim();
  const float embd_hw = kEmbdScale / std::sqrt(static_cast<float>(n_embd));
  std::vector<TensorPlan> plan;
  if (s.rope_scaling.factor != 0) {
    TensorPlan t = tensor("rope_freqs.weight", {s.head_dim() / 2}, DTYPE_F32, 0, 0);
    t.fixed = llama3_rope_factors(s);
    plan.push_back(std::move(t));
  }
  plan.push_back(tensor("token_embd.weight", {n_embd, s.n_vocab}, o.embd_dtype, 0, embd_hw));
  // Per block in the order of SmolLM2's file (sorted names), weights: (rows, fan_in).
  for (uint32_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    plan.push_back(tensor(b + "attn_norm.weight", {n_embd}, DTYPE_F32, 1, kNormHalfWidth));
    plan.push_back(matrix(b + "ffn_down.weight", n_ff, n_embd, o.dtype, kOutputProjGain));    // (n_embd, n_ff)
    plan.push_back(matrix(b + "ffn_gate.weight", n_embd, n_ff, o.dtype, kInputProjGain));    // (n_ff, n_embd)
    plan.push_back(matrix(b + "ffn_up.weight", n_embd, n_ff, o.dtype, kInputProjGain));      // (n_ff, n_embd)
    plan.push_back(tensor(b + "ffn_norm.weight", {n_embd}, DTYPE_F32, 1, kNormHalfWidth));
    if (o.qkv_bias) plan.push_back(tensor(b + "attn_k.bias", {n_kv}, DTYPE_F32, 0, kBiasHalfWidth));
    plan.push_back(matrix(b + "attn_k.weight", n_embd, n_kv, o.dtype, kInputProjGain));      // (n_kv, n_embd)
    plan.push_back(matrix(b + "attn_output.weight", n_embd, n_embd, o.dtype, kOutputProjGain));
    if (o.qkv_bias) plan.push_back(tensor(b + "attn_q.bias", {n_embd}, DTYPE_F32, 0, kBiasHalfWidth));
    plan.push_back(matrix(b + "attn_q.weight", n_embd, n_embd, o.dtype, kInputProjGain));    // (n_embd, n_embd)
    if (o.qkv_bias) plan.push_back(tensor(b + "attn_v.bias", {n_kv}, DTYPE_F32, 0, kBiasHalfWidth));
    plan.push_back(matrix(b + "attn_v.weight", n_embd, n_kv, o.dtype, kInputProjGain));      // (n_kv, n_embd)
  }
  plan.push_back(tensor("output_norm.weight", {n_embd}, DTYPE_F32, kOutputNormCenter, kNormHalfWidth));
  if (o.untied) plan.push_back(tensor("output.weight", {n_embd, s.n_vocab}, o.embd_dtype, 0, embd_hw));

  uint64_t offset = 0;
  for (TensorPlan& t : plan) {
    const uint32_t block = dtype_traits(t.type).block_elems;
    if (t.dims[0] % block != 0) {
      *error = "[synth] " + t.name + ": rows of " + std::to_string(t.dims[0]) + " elements do not fill " +
               dtype_traits(t.type).name + " blocks of " + std::to_string(block);
      return {};
    }
    t.offset = offset;
    t.n_bytes = dtype_bytes(t.type, t.n_elems);
    offset = (offset + t.n_bytes + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment;
  }
  return plan;
}

void write_header(const Options& o, const std::vector<TensorPlan>& plan, GgufHeaderWriter* w) {
  const Shape& s = o.shape;
  const std::string a = architecture(o);
  w->add_string("general.architecture", a);
  w->add_string("general.type", "model");
  w->add_string("general.name", "samepage synthetic " + s.name);
  w->add_u32("general.file_type", dtype_traits(o.dtype).llama_file_type);
  w->add_u32("general.quantization_version", 2);
  w->add_string("samepage.synth.shape", s.name);
  w->add_u64("samepage.synth.seed", o.seed);
  w->add_u32(a + ".block_count", s.n_layer);
  w->add_u32(a + ".context_length", s.n_ctx);
  w->add_u32(a + ".embedding_length", s.n_embd);
  w->add_u32(a + ".feed_forward_length", s.n_ff);
  w->add_u32(a + ".attention.head_count", s.n_head);
  w->add_u32(a + ".attention.head_count_kv", s.n_head_kv);
  w->add_f32(a + ".rope.freq_base", s.rope_base);
  w->add_f32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
  w->add_u32(a + ".vocab_size", s.n_vocab);
  w->add_u32(a + ".rope.dimension_count", s.head_dim());

  const Vocab v = make_vocab(s.n_vocab, o.seed);
  w->add_bool("tokenizer.ggml.add_space_prefix", false);
  w->add_bool("tokenizer.ggml.add_bos_token", false);
  w->add_string("tokenizer.ggml.model", "gpt2");
  w->add_string("tokenizer.ggml.pre", "smollm");
  w->add_string_array("tokenizer.ggml.tokens", v.tokens);
  w->add_i32_array("tokenizer.ggml.token_type", v.token_types);
  w->add_string_array("tokenizer.ggml.merges", v.merges);
  w->add_u32("tokenizer.ggml.bos_token_id", kTokenImStart);
  w->add_u32("tokenizer.ggml.eos_token_id", kTokenImEnd);
  w->add_u32("tokenizer.ggml.unknown_token_id", kTokenEndOfText);
  w->add_u32("tokenizer.ggml.padding_token_id", kTokenImEnd);
  w->add_string("tokenizer.chat_template", kChatMlTemplate);

  for (const TensorPlan& t : plan) w->add_tensor(t.name, t.dims, dtype_traits(t.type).ggml_type, t.offset);
}

}  // namespace synth
