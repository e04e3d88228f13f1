// Hyper-parameters and weights of a Llama-family GGUF, checked up front so
// that the forward pass never meets a shape it cannot run.
#include "model_config.h"

#include <string>

namespace llm {
namespace {

Status fail(const std::string& what) { return Status::error("[model] " + what); }

std::string shape_text(const GgufTensor& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.dims[d]);
  return s + "]";
}

// A u32 hyper-parameter that must be present and positive.
Status read_positive(const GgufFile& gguf, const std::string& key, uint32_t* out) {
  Result<uint32_t> v = gguf.get_u32(key);
  if (!v.is_ok()) return fail(v.message());
  if (v.value() == 0) return fail(key + " is 0");
  *out = v.value();
  return Status::ok();
}

struct Finder {
  const GgufFile& gguf;
  Status status = Status::ok();

  // The tensor `name` with GGUF dims {ne0, ne1} (ne1 == 0: a vector of ne0),
  // or nullptr after recording why not. Vectors (norms, biases) must be F32.
  const GgufTensor* find(const std::string& name, uint64_t ne0, uint64_t ne1, bool required = true) {
    if (!status.is_ok()) return nullptr;
    const GgufTensor* t = gguf.find_tensor(name);
    if (t == nullptr) {
      if (required) status = fail("missing tensor " + name);
      return nullptr;
    }
    const bool is_vector = ne1 == 0;
    const bool shape_ok = is_vector ? (t->n_elems == ne0 && t->dims[0] == ne0)
                                    : (t->n_dims == 2 && t->dims[0] == ne0 && t->dims[1] == ne1);
    if (!shape_ok) {
      const std::string want = is_vector ? "[" + std::to_string(ne0) + "]"
                                         : "[" + std::to_string(ne0) + ", " + std::to_string(ne1) + "]";
      status = fail("tensor " + name + " has dims " + shape_text(*t) + ", expected " + want +
                    " from the metadata");
      return nullptr;
    }
    if (is_vector && t->type != GGML_TYPE_F32) {
      status = fail("tensor " + name + " is " + ggml_type_name(t->type) + "; norms and biases must be F32");
      return nullptr;
    }
    return t;
  }
};

Status read_config(const GgufFile& gguf, ModelConfig* c) {
  Result<std::string_view> arch = gguf.get_string("general.architecture");
  if (!arch.is_ok()) return fail(arch.message());
  c->arch_name = std::string(arch.value());
  if (c->arch_name == "llama") {
    c->arch = Arch::Arch_llama;
  } else if (c->arch_name == "qwen2") {
    c->arch = Arch::Arch_qwen2;
    c->rope_neox = true;
    c->has_qkv_bias = true;
  } else {
    return fail("architecture '" + c->arch_name + "' is not supported (supported: llama, qwen2)");
  }
  const std::string p = c->arch_name + ".";
  Status s = read_positive(gguf, p + "block_count", &c->n_layers);
  if (s.is_ok()) s = read_positive(gguf, p + "embedding_length", &c->dim);
  if (s.is_ok()) s = read_positive(gguf, p + "feed_forward_length", &c->ffn_dim);
  if (s.is_ok()) s = read_positive(gguf, p + "attention.head_count", &c->n_heads);
  if (s.is_ok()) s = read_positive(gguf, p + "context_length", &c->n_ctx_train);
  if (!s.is_ok()) return s;
  c->n_kv_heads = c->n_heads;
  if (gguf.find(p + "attention.head_count_kv") != nullptr) {
    s = read_positive(gguf, p + "attention.head_count_kv", &c->n_kv_heads);
    if (!s.is_ok()) return s;
  }
  if (gguf.find(p + "attention.layer_norm_rms_epsilon") != nullptr) {
    Result<float> eps = gguf.get_f32(p + "attention.layer_norm_rms_epsilon");
    if (!eps.is_ok()) return fail(eps.message());
    if (!(eps.value() >= 0.0f && eps.value() <= 1.0f)) return fail("rms epsilon must be in [0, 1]");
    c->rms_eps = eps.value();
  }
  if (gguf.find(p + "rope.freq_base") != nullptr) {
    Result<float> base = gguf.get_f32(p + "rope.freq_base");
    if (!base.is_ok()) return fail(base.message());
    if (!(base.value() > 0.0f)) return fail("rope.freq_base must be > 0");
    c->rope_freq_base = base.value();
  }
  if (c->dim % c->n_heads != 0) {
    return fail("embedding_length " + std::to_string(c->dim) + " is not a multiple of head_count " +
                std::to_string(c->n_heads));
  }
  if (c->n_heads % c->n_kv_heads != 0) {
    return fail("head_count " + std::to_string(c->n_heads) + " is not a multiple of head_count_kv " +
                std::to_string(c->n_kv_heads));
  }
  c->head_dim = c->dim / c->n_heads;
  if (c->head_dim % 2 != 0) return fail("head dimension " + std::to_string(c->head_dim) + " is odd");
  if (gguf.find(p + "rope.dimension_count") != nullptr) {
    uint32_t rope_dims = 0;
    s = read_positive(gguf, p + "rope.dimension_count", &rope_dims);
    if (!s.is_ok()) return s;
    if (rope_dims != c->head_dim) {
      return fail("rope.dimension_count " + std::to_string(rope_dims) + " differs from the head dimension " +
                  std::to_string(c->head_dim) + " (partial RoPE is not supported)");
    }
  }
  // Rope scaling of any kind changes the frequencies; the host's rope takes
  // one base and one linear scale, so only "none" (or absent) runs correctly.
  if (const GgufValue* v = gguf.find(p + "rope.scaling.type"); v != nullptr) {
    Result<std::string_view> type = gguf.get_string(p + "rope.scaling.type");
    if (!type.is_ok()) return fail(type.message());
    if (type.value() != "none") {
      return fail("rope scaling '" + std::string(type.value()) + "' is not supported");
    }
  }
  return Status::ok();
}

}  // namespace

const char* supported_weight_types() { return "F32 F16 BF16 Q8_0 Q4_0 Q4_1"; }

Result<ModelSpec> model_spec_from_gguf(const GgufFile& gguf) {
  ModelSpec spec;
  ModelConfig& c = spec.config;
  if (Status s = read_config(gguf, &c); !s.is_ok()) return s;

  // Every tensor type the parser accepts is one the host's matmul takes.
  Finder f{gguf};
  ModelTensors& m = spec.tensors;
  const GgufTensor* embd = gguf.find_tensor("token_embd.weight");
  if (embd == nullptr) return fail("missing tensor token_embd.weight");
  if (embd->n_dims != 2 || embd->dims[0] != c.dim || embd->dims[1] == 0 || embd->dims[1] > (1u << 24)) {
    return fail("tensor token_embd.weight has dims " + shape_text(*embd) + ", expected [" + std::to_string(c.dim) +
                ", vocab]");
  }
  c.vocab_size = uint32_t(embd->dims[1]);
  m.token_embd = embd;
  m.output_norm = f.find("output_norm.weight", c.dim, 0);
  m.output = f.find("output.weight", c.dim, c.vocab_size, /*required=*/false);
  // Llama 3.1+: per-pair RoPE frequency divisors, one set for every layer.
  m.rope_freqs = f.find("rope_freqs.weight", c.head_dim / 2, 0, /*required=*/false);
  if (!f.status.is_ok()) return f.status;
  c.tied_output = m.output == nullptr;
  if (c.tied_output) m.output = m.token_embd;

  const uint64_t q_dim = uint64_t(c.n_heads) * c.head_dim, kv_dim = uint64_t(c.n_kv_heads) * c.head_dim;
  m.layers.resize(c.n_layers);
  for (uint32_t i = 0; i < c.n_layers && f.status.is_ok(); ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    LayerTensors& l = m.layers[i];
    l.attn_norm = f.find(b + "attn_norm.weight", c.dim, 0);
    l.wq = f.find(b + "attn_q.weight", c.dim, q_dim);
    l.wk = f.find(b + "attn_k.weight", c.dim, kv_dim);
    l.wv = f.find(b + "attn_v.weight", c.dim, kv_dim);
    if (c.has_qkv_bias) {
      l.bq = f.find(b + "attn_q.bias", q_dim, 0);
      l.bk = f.find(b + "attn_k.bias", kv_dim, 0);
      l.bv = f.find(b + "attn_v.bias", kv_dim, 0);
    }
    l.wo = f.find(b + "attn_output.weight", q_dim, c.dim);
    l.ffn_norm = f.find(b + "ffn_norm.weight", c.dim, 0);
    l.w_gate = f.find(b + "ffn_gate.weight", c.dim, c.ffn_dim);
    l.w_up = f.find(b + "ffn_up.weight", c.dim, c.ffn_dim);
    l.w_down = f.find(b + "ffn_down.weight", c.ffn_dim, c.dim);
  }
  if (!f.status.is_ok()) return f.status;
  return spec;
}

}  // namespace llm
