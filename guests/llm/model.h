// The transformer, as host-API calls. The GGUF file is mapped read-only
// into this guest's memory (no copy) and parsed in place; every weight is a
// const view of the mapped bytes. The KV cache and the activations are
// runtime tensors (device-resident on a GPU). A forward step over n tokens is
// recorded once per batch size and replayed with the position as parameter 0,
// so decoding one token is one host call.
#pragma once

#include <cstdint>
#include <functional>
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

// A conversation kept in device memory (fork or branch it without
// serializing): every layer's filled K and V rows copied into runtime
// tensors, and the positions they hold.
struct KvCheckpoint {
  std::vector<sp::Tensor> k, v;  // (n_layers) of (n_past, n_kv_heads, head_dim) f16|f32, runtime
  uint32_t n_past = 0;
  uint64_t n_bytes = 0;          // device memory the copies hold
  // Every layer's set_rows back into the caches, recorded once: a restore is
  // one host call (one graph launch on CUDA), not 2 × n_layers synchronous
  // ones. Declared after k, v: it goes first (a freed tensor breaks it).
  sp::Sequence restore;
};

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

  // Sessions (session.h; model_session.cpp). The SHA-256 of the model file's
  // "header" (GGUF header, metadata and tensor infos) or whole "file".
  Result<std::string> content_hash(const std::string& scope) const;
  double content_hash_ms() const { return hash_ms_; }
  bool kv_f16() const { return kv_f16_; }
  // Each layer's K and V rows [0, n_past) into k[l], v[l]: (n_past, n_kv_heads,
  // head_dim) in the cache dtype, bit for bit (sp_get_rows).
  Status read_kv(const std::vector<uint8_t*>& k, const std::vector<uint8_t*>& v);
  // The reverse, n_past rows in the cache dtype, then n_past = n_past: the
  // bytes go up as they are (sp_set_rows of the same dtype is a byte copy).
  // kept: the caller keeps these bytes' buffer for later writes (plain guest
  // memory, not a file mapping), so the uploads are recorded and replayed.
  Status write_kv(const std::vector<const uint8_t*>& k, const std::vector<const uint8_t*>& v, uint32_t n_past,
                  bool kept = false);
  uint64_t kv_upload_records() const { return kv_upload_records_; }  // kept writes recorded so far
  // The caches' rows [0, n_past) copied into cp (sp_get_rows, a byte copy:
  // device to device on a GPU, a memcpy on the CPU); cp's tensors are
  // allocated (and the restore recorded) when its row count changes, reused
  // otherwise. restore_kv replays the recorded sp_set_rows (the same dtype:
  // bytes) and sets n_past.
  Status checkpoint_kv(KvCheckpoint& cp);
  Status restore_kv(const KvCheckpoint& cp);

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
  // write_kv's set_rows for a buffer its caller keeps (session_io's reused
  // buffer), recorded once a layout and replayed: one host call (one graph
  // launch on CUDA) instead of 2 × n_layers. The views must stay SP_SHARED
  // (a resident view would replay stale bytes); ~Model frees it first.
  struct KvUpload {
    std::vector<const uint8_t*> k, v;  // the rows' bytes, per layer
    uint32_t n_past = 0;
    std::vector<sp::Tensor> views;     // [2l] K, [2l + 1] V of layer l: (n_past, n_kv_heads, head_dim) in the cache dtype
    sp::Sequence sequence;             // after the views: it goes first
  };
  KvUpload kv_upload_;
  uint64_t kv_upload_records_ = 0;
  // Every layer's set_rows(cache, rows(l, 0 for K / 1 for V), 0), recorded
  // (not run): invalid where recording failed.
  sp::Sequence record_cache_writes(const std::function<const sp::Tensor&(size_t, int)>& rows);
  Status upload_kept_rows(const std::vector<const uint8_t*>& k, const std::vector<const uint8_t*>& v,
                          uint32_t n_past);
  HostTimer host_timer_;
  mutable std::string hash_header_, hash_file_;  // content_hash, computed once each
  mutable double hash_ms_ = 0;                   // time content_hash spent hashing
};

}  // namespace llm
