// The transformer, as host-API calls. The GGUF file is mapped read-only
// into this guest's memory (no copy) and parsed in place; every weight is a
// const view of the mapped bytes. The KV cache and the activations are
// runtime tensors (device-resident on a GPU). A forward step over n tokens is
// recorded once per batch size and replayed with the position as parameter 0,
// so decoding one token is one host call.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf.h"
#include "host_timer.h"
#include "model_config.h"
#include "samepage.hpp"
#include "status.h"

namespace llm {

struct ModelOptions {
  uint32_t n_ctx = 0;     // KV-cache positions; 0: min(4096, the training context)
  uint32_t n_batch = 64;  // prefill tokens per step
  bool kv_f16 = true;     // f16 KV cache (else f32)
  // Called as layers' weights are bound (done of total): a loading bar.
  void (*progress)(void* ctx, size_t done, size_t total) = nullptr;
  void* progress_ctx = nullptr;
};

// Runtime tensors of one forward step over n tokens, and its recording.
struct Activations;

class Model {
 public:
  // Maps `path` (opened through WASI) and builds everything; the error names
  // what is wrong with the file.
  static Result<std::unique_ptr<Model>> load(const std::string& path, const ModelOptions& options);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const GgufFile& gguf() const { return gguf_; }
  const ModelConfig& config() const { return spec_.config; }
  uint32_t n_ctx() const { return n_ctx_; }
  uint32_t n_past() const { return n_past_; }  // positions in the KV cache
  // Forgets positions >= n_past (later tokens overwrite their K/V rows).
  void truncate(uint32_t n_past) { n_past_ = n_past < n_past_ ? n_past : n_past_; }

  // Runs tokens at positions [n_past, n_past + n) in batches and leaves the
  // last token's logits (and their argmax) behind.
  Status prefill(const int32_t* tokens, size_t n_tokens);
  // One token at position n_past: a single replay.
  Status decode(int32_t token);
  // The argmax of the last logits, computed on the device (4 bytes read).
  int32_t greedy_token() const { return next_token_; }
  // The last logits, copied into guest memory: (vocab) f32.
  Result<const float*> logits();

  // Time spent inside sp_* calls since load (guest-side clock).
  HostTimer& host_timer() { return host_timer_; }

 private:
  Model() = default;
  Status map_file(const std::string& path);
  Status make_weight_views();
  Status make_caches();
  Result<Activations*> activations_for(uint32_t n_tokens);
  Status run(Activations& acts, const int32_t* tokens, uint32_t n_tokens);
  Status record_step(Activations& acts);

  struct LayerViews {
    sp::Tensor attn_norm;         // (dim) f32
    sp::Tensor wq, wk, wv;        // (n_heads*head_dim, dim), (n_kv_heads*head_dim, dim) x2
    sp::Tensor bq, bk, bv;        // qwen2: (n_heads*head_dim), (n_kv_heads*head_dim) x2, added to every row
    sp::Tensor wo;                // (dim, n_heads*head_dim)
    sp::Tensor ffn_norm;          // (dim) f32
    sp::Tensor w_gate, w_up;      // (ffn_dim, dim)
    sp::Tensor w_down;            // (dim, ffn_dim)
    sp::Tensor k_cache, v_cache;  // (n_ctx, n_kv_heads, head_dim) f16 or f32, runtime
  };

  int fd_ = -1;
  sp::FileMapping mapping_;      // the whole file, read-only
  GgufFile gguf_;                // parsed in place over mapping_
  ModelSpec spec_;
  uint32_t n_ctx_ = 0;
  uint32_t n_batch_ = 0;
  bool kv_f16_ = true;
  void (*progress_)(void*, size_t, size_t) = nullptr;  // ModelOptions::progress, during load only
  void* progress_ctx_ = nullptr;
  uint32_t n_past_ = 0;

  sp::Tensor token_embd_;        // (vocab, dim)
  sp::Tensor output_norm_;       // (dim) f32
  sp::Tensor output_;            // (vocab, dim); the token_embd view when tied
  std::vector<LayerViews> layers_;
  sp::Tensor rope_freqs_;        // (head_dim / 2) f32 RoPE frequency divisors (Llama 3.1+), or none
  sp::Tensor logits_;            // (1, vocab) f32, runtime
  std::vector<float> logits_host_;  // (vocab) f32: logits_ copied here for sampling
  sp::Tensor logits_host_view_;  // view of logits_host_
  alignas(4) int32_t next_token_ = 0;  // (1) i32: argmax of logits_, written by the step
  sp::Tensor next_token_view_;
  std::vector<std::unique_ptr<Activations>> acts_;  // one per batch size in use
  HostTimer host_timer_;
};

}  // namespace llm
