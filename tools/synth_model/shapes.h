// Named model shapes the synthetic writer knows: hyperparameters copied from
// the real models' GGUF metadata (SmolLM2-135M-Instruct's file; Llama 3.2 1B's
// published config), plus a tiny shape for tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace synth {

// Llama 3.x RoPE frequency scaling (rope_freqs.weight), as in the HF config.
struct Llama3RopeScaling {
  float factor = 0;               // 0: no scaling, no rope_freqs tensor
  float low_freq_factor = 0;
  float high_freq_factor = 0;
  uint32_t original_context = 0;  // tokens
};

struct Shape {
  std::string name;
  uint32_t n_embd = 0;     // hidden size
  uint32_t n_layer = 0;
  uint32_t n_head = 0;     // query heads; head_dim = n_embd / n_head
  uint32_t n_head_kv = 0;  // key/value heads (GQA)
  uint32_t n_ff = 0;       // SwiGLU inner size
  uint32_t n_vocab = 0;
  uint32_t n_ctx = 0;      // context_length in the metadata
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;
  Llama3RopeScaling rope_scaling;

  uint32_t head_dim() const { return n_embd / n_head; }
};

// nullptr for an unknown name.
const Shape* find_shape(std::string_view name);
// "tiny, tiny-llama3, smollm2-135m, llama-3.2-1b", for messages.
std::string shape_names();

}  // namespace synth
