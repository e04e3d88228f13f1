#include "shapes.h"

namespace synth {
namespace {

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = [] {
    std::vector<Shape> s;
    Shape tiny;  // small enough for a float64 reference in milliseconds
    tiny.name = "tiny";
    tiny.n_embd = 64, tiny.n_layer = 2, tiny.n_head = 4, tiny.n_head_kv = 2;
    tiny.n_ff = 128, tiny.n_vocab = 512, tiny.n_ctx = 256;
    s.push_back(tiny);

    // tiny with Llama 3 RoPE scaling over a short original context, so the
    // factors (1, smooth, 8) reach pairs that turn visibly within a few tokens.
    Shape tiny_llama3 = tiny;
    tiny_llama3.name = "tiny-llama3";
    tiny_llama3.rope_scaling = {8.0f, 1.0f, 4.0f, 64};
    s.push_back(tiny_llama3);

    Shape smol;  // SmolLM2-135M-Instruct.Q4_1.gguf's llama.* metadata
    smol.name = "smollm2-135m";
    smol.n_embd = 576, smol.n_layer = 30, smol.n_head = 9, smol.n_head_kv = 3;
    smol.n_ff = 1536, smol.n_vocab = 49152, smol.n_ctx = 8192;
    smol.rope_base = 100000.0f;
    s.push_back(smol);

    Shape l1b;  // meta-llama/Llama-3.2-1B config.json
    l1b.name = "llama-3.2-1b";
    l1b.n_embd = 2048, l1b.n_layer = 16, l1b.n_head = 32, l1b.n_head_kv = 8;
    l1b.n_ff = 8192, l1b.n_vocab = 128256, l1b.n_ctx = 131072;
    l1b.rope_base = 500000.0f;
    l1b.rope_scaling = {32.0f, 1.0f, 4.0f, 8192};
    s.push_back(l1b);
    return s;
  }();
  return all;
}

}  // namespace

const Shape* find_shape(std::string_view name) {
  for (const Shape& s : shapes()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string shape_names() {
  std::string out;
  for (const Shape& s : shapes()) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

}  // namespace synth
