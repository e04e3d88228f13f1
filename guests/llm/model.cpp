// Loading (map, parse, views, caches) and the forward step as host calls.
#include "model.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace llm {

// Runtime tensors of one forward step over n tokens, and its recording.
struct Activations {
  uint32_t n = 0;
  std::vector<int32_t> tokens;  // (n) i32: written by the guest before each replay
  int32_t last_row = 0;         // (1) i32: n - 1, the row whose logits are wanted
  sp::Tensor tokens_view;       // view of tokens
  sp::Tensor last_row_view;     // view of last_row
  sp::Tensor x;                 // (n, dim) residual stream
  sp::Tensor xn;                // (n, dim) normalized
  sp::Tensor q2, q3;            // (n, q_dim) from matmul; q3 its alias (n, n_heads, head_dim) for rope/attention
  sp::Tensor k2, k3;            // (n, kv_dim); alias (n, n_kv_heads, head_dim)
  sp::Tensor v2;                // (n, kv_dim)
  sp::Tensor att;               // (n, q_dim) attention output
  sp::Tensor o;                 // (n, dim) attention / ffn projection
  sp::Tensor gate, up;          // (n, ffn_dim)
  sp::Tensor x_last;            // (1, dim): row n - 1 of x (n > 1 only)
  sp::Tensor xn_last;           // (1, dim)
  sp::Sequence step;            // the whole step, position = parameter 0
};

namespace {

Status fail(const std::string& what) { return Status::error("[model] " + what); }
Status host_fail(const std::string& what) { return fail(what + ": " + sp::Status::last_error()); }

Result<sp_dtype> sp_dtype_of(GgmlType type) {
  switch (type) {
    case GGML_TYPE_F32: return SP_F32;
    case GGML_TYPE_F16: return SP_F16;
    case GGML_TYPE_BF16: return SP_BF16;
    case GGML_TYPE_Q8_0: return SP_Q8_0;
    case GGML_TYPE_Q4_0: return SP_Q4_0;
    case GGML_TYPE_Q4_1: return SP_Q4_1;
  }
  return fail(std::string(ggml_type_name(type)) + " is not supported; supported: " + supported_weight_types());
}

// A const view of a tensor's bytes in the mapping: (ne1, ne0) or (ne0).
Result<sp::Tensor> weight_view(const GgufTensor* t) {
  Result<sp_dtype> dtype = sp_dtype_of(t->type);
  if (!dtype.is_ok()) return dtype.status();
  sp::Tensor view = t->n_dims >= 2
                        ? sp::Tensor::view(t->data, dtype.value(), {uint32_t(t->dims[1]), uint32_t(t->dims[0])}, SP_CONST)
                        : sp::Tensor::view(t->data, dtype.value(), {uint32_t(t->dims[0])}, SP_CONST);
  if (!view.valid()) return host_fail("view of " + std::string(t->name));
  return view;
}

// Issues ops until one fails; keeps the first failure's message.
struct OpChain {
  Status status = Status::ok();
  bool operator()(sp::Status rc, const char* what) {
    if (status.is_ok() && !rc.ok()) status = host_fail(what);
    return status.is_ok();
  }
};

}  // namespace

Model::~Model() {
  kv_upload_.sequence.reset();  // before the caches it writes
  kv_upload_.views.clear();
  acts_.clear();
  layers_.clear();
  token_embd_.reset();
  output_norm_.reset();
  output_.reset();
  rope_freqs_.reset();
  mapping_.reset();
  if (fd_ >= 0) close(fd_);
}

Status Model::map_file(const std::string& path) {
  fd_ = open(path.c_str(), O_RDONLY);
  if (fd_ < 0) return fail("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd_, &st) != 0) return fail("cannot stat " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(path + " is not a regular file");
  if (st.st_size <= 0) return fail(path + " is empty");
  // Guest memory is 32-bit: the mapping must leave room for everything else.
  if (uint64_t(st.st_size) > (uint64_t{3} << 30)) return fail(path + " is over 3 GiB: too large for a wasm32 guest");
  mapping_ = sp::FileMapping::map(fd_, 0, uint32_t(st.st_size));
  if (!mapping_.status().ok()) return host_fail("cannot map " + path);
  Result<GgufFile> parsed = GgufFile::parse(static_cast<const uint8_t*>(mapping_.data()), mapping_.n_bytes());
  if (!parsed.is_ok()) return parsed.status();
  gguf_ = std::move(parsed.value());
  return Status::ok();
}

Status Model::make_weight_views() {
  const ModelTensors& t = spec_.tensors;
  auto make = [&](const GgufTensor* g, sp::Tensor* out) -> Status {
    Result<sp::Tensor> v = weight_view(g);
    if (!v.is_ok()) return v.status();
    *out = std::move(v.value());
    return Status::ok();
  };
  Status s = make(t.token_embd, &token_embd_);
  if (s.is_ok()) s = make(t.output_norm, &output_norm_);
  if (s.is_ok()) s = make(t.output, &output_);
  if (s.is_ok() && t.rope_freqs != nullptr) s = make(t.rope_freqs, &rope_freqs_);
  layers_.resize(t.layers.size());
  for (size_t i = 0; i < t.layers.size() && s.is_ok(); ++i) {
    const LayerTensors& g = t.layers[i];
    LayerViews& l = layers_[i];
    const GgufTensor* sources[] = {g.attn_norm, g.wq, g.wk, g.wv, g.wo, g.ffn_norm, g.w_gate, g.w_up, g.w_down};
    sp::Tensor* targets[] = {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down};
    for (size_t k = 0; k < 9 && s.is_ok(); ++k) s = make(sources[k], targets[k]);
    if (progress_ != nullptr) progress_(progress_ctx_, i + 1, t.layers.size());
  }
  for (size_t i = 0; i < t.layers.size() && s.is_ok() && spec_.config.has_qkv_bias; ++i) {
    const LayerTensors& g = t.layers[i];
    LayerViews& l = layers_[i];
    s = make(g.bq, &l.bq);
    if (s.is_ok()) s = make(g.bk, &l.bk);
    if (s.is_ok()) s = make(g.bv, &l.bv);
  }
  return s;
}

Status Model::make_caches() {
  const ModelConfig& c = spec_.config;
  const sp_dtype kv = kv_f16_ ? SP_F16 : SP_F32;
  for (LayerViews& l : layers_) {
    l.k_cache = sp::Tensor::alloc(kv, {n_ctx_, c.n_kv_heads, c.head_dim});
    l.v_cache = sp::Tensor::alloc(kv, {n_ctx_, c.n_kv_heads, c.head_dim});
    if (!l.k_cache.valid() || !l.v_cache.valid()) return host_fail("KV cache of " + std::to_string(n_ctx_) + " positions");
  }
  logits_ = sp::Tensor::alloc(SP_F32, {1, c.vocab_size});
  logits_host_.assign(c.vocab_size, 0.0f);
  logits_host_view_ = sp::Tensor::view(logits_host_.data(), SP_F32, {1, c.vocab_size});
  next_token_view_ = sp::Tensor::view(&next_token_, SP_I32, {1});
  if (!logits_.valid() || !logits_host_view_.valid() || !next_token_view_.valid()) return host_fail("logits");
  return Status::ok();
}

Result<std::unique_ptr<Model>> Model::load(const std::string& path, const ModelOptions& options) {
  std::unique_ptr<Model> m(new Model());
  if (Status s = m->map_file(path); !s.is_ok()) return s;
  Result<ModelSpec> spec = model_spec_from_gguf(m->gguf_);
  if (!spec.is_ok()) return spec.status();
  m->spec_ = std::move(spec.value());
  const ModelConfig& c = m->spec_.config;
  m->n_ctx_ = options.n_ctx != 0 ? options.n_ctx : (c.n_ctx_train < 4096 ? c.n_ctx_train : 4096);
  if (m->n_ctx_ > c.n_ctx_train) {
    return fail("context " + std::to_string(m->n_ctx_) + " is above the model's training context " +
                std::to_string(c.n_ctx_train));
  }
  m->n_batch_ = options.n_batch == 0 ? 1 : options.n_batch;
  m->kv_f16_ = options.kv_f16;
  m->progress_ = options.progress;
  m->progress_ctx_ = options.progress_ctx;
  if (Status s = m->make_weight_views(); !s.is_ok()) return s;
  if (Status s = m->make_caches(); !s.is_ok()) return s;
  return m;
}

Status Model::record_step(Activations& a) {
  const ModelConfig& c = spec_.config;
  const int32_t pos = sp::param(0);
  const sp_rope_mode mode = c.rope_neox ? SP_ROPE_NEOX : SP_ROPE_NORMAL;
  // In place on the (n, heads, head_dim) alias, with the file's frequency factors when it has them.
  auto rope = [&](const sp::Tensor& x) {
    return rope_freqs_.valid() ? sp::rope_ext(x, x, rope_freqs_, pos, c.rope_freq_base, 1.0f, mode)
                               : sp::rope(x, x, pos, c.rope_freq_base, 1.0f, mode);
  };
  OpChain ok;
  a.step = sp::Sequence::record([&] {
    ok(sp::embedding(a.x, token_embd_, a.tokens_view), "embedding");
    for (size_t i = 0; i < layers_.size() && ok.status.is_ok(); ++i) {
      const LayerViews& l = layers_[i];
      // Attention: q, k, v projections; rope; K/V rows at pos; attend; project back.
      ok(sp::rmsnorm(a.xn, a.x, l.attn_norm, c.rms_eps), "attn_norm") && ok(sp::matmul(a.q2, a.xn, l.wq), "wq") &&
          ok(sp::matmul(a.k2, a.xn, l.wk), "wk") && ok(sp::matmul(a.v2, a.xn, l.wv), "wv");
      if (c.has_qkv_bias) {
        ok(sp::add(a.q2, a.q2, l.bq), "bq") && ok(sp::add(a.k2, a.k2, l.bk), "bk") && ok(sp::add(a.v2, a.v2, l.bv), "bv");
      }
      ok(rope(a.q3), "rope q") && ok(rope(a.k3), "rope k") &&
          ok(sp::set_rows(l.k_cache, a.k3, pos), "k cache") && ok(sp::set_rows(l.v_cache, a.v2, pos), "v cache") &&
          ok(sp::attention(a.att, a.q3, l.k_cache, l.v_cache, pos), "attention") &&
          ok(sp::matmul(a.o, a.att, l.wo), "wo") && ok(sp::add(a.x, a.x, a.o), "attn residual");
      // Feed-forward: down(silu(gate(x)) * up(x)).
      ok(sp::rmsnorm(a.xn, a.x, l.ffn_norm, c.rms_eps), "ffn_norm") && ok(sp::matmul(a.gate, a.xn, l.w_gate), "w_gate") &&
          ok(sp::matmul(a.up, a.xn, l.w_up), "w_up") && ok(sp::silu_mul(a.gate, a.gate, a.up), "silu_mul") &&
          ok(sp::matmul(a.o, a.gate, l.w_down), "w_down") && ok(sp::add(a.x, a.x, a.o), "ffn residual");
    }
    // Logits of the last row only: embedding gathers row n - 1 of x.
    const sp::Tensor& last = a.n > 1 ? a.x_last : a.x;
    if (a.n > 1) ok(sp::embedding(a.x_last, a.x, a.last_row_view), "last row");
    ok(sp::rmsnorm(a.xn_last, last, output_norm_, c.rms_eps), "output_norm") &&
        ok(sp::matmul(logits_, a.xn_last, output_), "output") && ok(sp::argmax(next_token_view_, logits_), "argmax");
  });
  if (!ok.status.is_ok()) return ok.status;
  if (!a.step.valid()) return host_fail("recording the forward step");
  return Status::ok();
}

Result<Activations*> Model::activations_for(uint32_t n) {
  for (auto& a : acts_)
    if (a->n == n) return a.get();
  // Keep the full-batch and one-token steps; a remainder size replaces the last other one.
  if (acts_.size() >= 3) {
    for (size_t i = 0; i < acts_.size(); ++i)
      if (acts_[i]->n != 1 && acts_[i]->n != n_batch_) {
        acts_.erase(acts_.begin() + long(i));
        break;
      }
  }
  const ModelConfig& c = spec_.config;
  const uint32_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  auto a = std::make_unique<Activations>();
  a->n = n;
  a->tokens.assign(n, 0);
  a->last_row = int32_t(n) - 1;
  a->tokens_view = sp::Tensor::view(a->tokens.data(), SP_I32, {n});
  a->last_row_view = sp::Tensor::view(&a->last_row, SP_I32, {1});
  a->x = sp::Tensor::alloc(SP_F32, {n, c.dim});
  a->xn = sp::Tensor::alloc(SP_F32, {n, c.dim});
  a->q2 = sp::Tensor::alloc(SP_F32, {n, q_dim});
  a->q3 = a->q2.reshape({n, c.n_heads, c.head_dim});
  a->k2 = sp::Tensor::alloc(SP_F32, {n, kv_dim});
  a->k3 = a->k2.reshape({n, c.n_kv_heads, c.head_dim});
  a->v2 = sp::Tensor::alloc(SP_F32, {n, kv_dim});
  a->att = sp::Tensor::alloc(SP_F32, {n, q_dim});
  a->o = sp::Tensor::alloc(SP_F32, {n, c.dim});
  a->gate = sp::Tensor::alloc(SP_F32, {n, c.ffn_dim});
  a->up = sp::Tensor::alloc(SP_F32, {n, c.ffn_dim});
  a->xn_last = sp::Tensor::alloc(SP_F32, {1, c.dim});
  if (n > 1) a->x_last = sp::Tensor::alloc(SP_F32, {1, c.dim});
  const sp::Tensor* all[] = {&a->tokens_view, &a->last_row_view, &a->x, &a->xn, &a->q2, &a->q3, &a->k2, &a->k3,
                             &a->v2, &a->att, &a->o, &a->gate, &a->up, &a->xn_last};
  for (const sp::Tensor* t : all)
    if (!t->valid()) return host_fail("activations for " + std::to_string(n) + " tokens");
  if (n > 1 && !a->x_last.valid()) return host_fail("activations");
  if (Status s = record_step(*a); !s.is_ok()) return s;
  acts_.push_back(std::move(a));
  return acts_.back().get();
}

Status Model::run(Activations& a, const int32_t* tokens, uint32_t n) {
  if (n_past_ + n > n_ctx_) {
    return fail("the context is full: " + std::to_string(n_past_) + " + " + std::to_string(n) + " tokens exceed " +
                std::to_string(n_ctx_) + " positions (raise -c)");
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || uint32_t(tokens[i]) >= spec_.config.vocab_size)
      return fail("token id " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                  std::to_string(spec_.config.vocab_size));
    a.tokens[i] = tokens[i];
  }
  sp::Params<1> params;
  params.set(0, int32_t(n_past_));
  sp::Status rc = host_timer_.time([&] { return a.step.replay(params); });
  if (!rc.ok()) return host_fail("forward step at position " + std::to_string(n_past_));
  n_past_ += n;
  return Status::ok();
}

Status Model::prefill(const int32_t* tokens, size_t n_tokens) {
  if (n_tokens == 0) return fail("prefill of no tokens");
  for (size_t done = 0; done < n_tokens;) {
    const uint32_t n = uint32_t(n_tokens - done < n_batch_ ? n_tokens - done : n_batch_);
    Result<Activations*> a = activations_for(n);
    if (!a.is_ok()) return a.status();
    if (Status s = run(*a.value(), tokens + done, n); !s.is_ok()) return s;
    done += n;
  }
  return Status::ok();
}

Status Model::decode(int32_t token) {
  Result<Activations*> a = activations_for(1);
  if (!a.is_ok()) return a.status();
  return run(*a.value(), &token, 1);
}

Result<const float*> Model::logits() {
  sp::Status rc = host_timer_.time([&] { return sp::copy(logits_host_view_, logits_); });
  if (!rc.ok()) return host_fail("reading logits");
  return static_cast<const float*>(logits_host_.data());
}

}  // namespace llm
