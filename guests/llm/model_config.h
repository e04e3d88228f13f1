// What a GGUF file must hold for samepage to run it: the hyper-parameters of
// a Llama-family (llama, qwen2) model and its weight tensors, each checked
// for presence, type and shape before the first op. Plain data over the
// parsed file; no host calls, so it is tested natively too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf.h"
#include "status.h"

namespace llm {

enum class Arch { Arch_llama, Arch_qwen2 };

struct ModelConfig {
  Arch arch = Arch::Arch_llama;
  std::string arch_name;     // "llama" or "qwen2": the metadata key prefix
  uint32_t n_layers = 0;     // {arch}.block_count
  uint32_t dim = 0;          // {arch}.embedding_length
  uint32_t ffn_dim = 0;      // {arch}.feed_forward_length
  uint32_t n_heads = 0;      // {arch}.attention.head_count
  uint32_t n_kv_heads = 0;   // {arch}.attention.head_count_kv (default n_heads)
  uint32_t head_dim = 0;     // dim / n_heads
  uint32_t n_ctx_train = 0;  // {arch}.context_length
  uint32_t vocab_size = 0;   // rows of token_embd.weight
  float rms_eps = 1e-5f;     // {arch}.attention.layer_norm_rms_epsilon
  float rope_freq_base = 10000.0f;  // {arch}.rope.freq_base
  bool rope_neox = false;    // qwen2: halves rotate (NEOX); llama: adjacent pairs
  bool has_qkv_bias = false; // qwen2: attn_{q,k,v}.bias
  bool tied_output = false;  // no output.weight: logits use token_embd.weight
};

// One layer's tensors (GGUF dims are listed innermost first; shapes here are
// row-major, outermost first, as the host API takes them).
struct LayerTensors {
  const GgufTensor* attn_norm = nullptr;  // (dim) f32
  const GgufTensor* wq = nullptr;         // (n_heads * head_dim, dim)
  const GgufTensor* wk = nullptr;         // (n_kv_heads * head_dim, dim)
  const GgufTensor* wv = nullptr;         // (n_kv_heads * head_dim, dim)
  const GgufTensor* bq = nullptr;         // (n_heads * head_dim) f32, qwen2 only
  const GgufTensor* bk = nullptr;         // (n_kv_heads * head_dim) f32, qwen2 only
  const GgufTensor* bv = nullptr;         // (n_kv_heads * head_dim) f32, qwen2 only
  const GgufTensor* wo = nullptr;         // (dim, n_heads * head_dim)
  const GgufTensor* ffn_norm = nullptr;   // (dim) f32
  const GgufTensor* w_gate = nullptr;     // (ffn_dim, dim)
  const GgufTensor* w_up = nullptr;       // (ffn_dim, dim)
  const GgufTensor* w_down = nullptr;     // (dim, ffn_dim)
};

struct ModelTensors {
  const GgufTensor* token_embd = nullptr;   // (vocab, dim)
  const GgufTensor* output_norm = nullptr;  // (dim) f32
  const GgufTensor* output = nullptr;       // (vocab, dim); token_embd when tied
  const GgufTensor* rope_freqs = nullptr;   // (head_dim / 2) f32 RoPE frequency divisors, Llama 3.1+; optional
  std::vector<LayerTensors> layers;         // n_layers
};

struct ModelSpec {
  ModelConfig config;
  ModelTensors tensors;
};

// Reads the hyper-parameters and finds every weight, refusing what samepage
// cannot run with a message that names it ("[model] ... Q4_K is not supported").
Result<ModelSpec> model_spec_from_gguf(const GgufFile& gguf);

// "F32 F16 BF16 Q8_0 Q4_0 Q4_1": the weight types the host's matmul takes.
const char* supported_weight_types();

}  // namespace llm
