// What a synthetic model file holds: its tensors (names, shapes, types,
// offsets, how their values are drawn) and its metadata, laid out like
// SmolLM2-135M-Instruct's GGUF (llama architecture; qwen2 with QKV bias).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dtype.h"
#include "gguf_writer.h"
#include "shapes.h"

namespace synth {

struct Options {
  Shape shape;
  Dtype dtype = DTYPE_F32;  // every matrix; norms and biases stay F32
  // Token embedding and untied output; defaults to dtype, but Q8_0 for Q4
  // dtypes, as in the real SmolLM2 Q4_1 file.
  Dtype embd_dtype = DTYPE_F32;
  uint64_t seed = 1;
  bool qkv_bias = false;  // Qwen2-style: general.architecture "qwen2", NEOX RoPE
  bool untied = false;    // write output.weight instead of reusing token_embd
  unsigned n_threads = 0; // 0: every hardware thread
};

// The embedding dtype that matches real files for a matrix dtype.
Dtype default_embd_dtype(Dtype dtype);

struct TensorPlan {
  std::string name;           // e.g. "blk.0.attn_q.weight"
  std::vector<uint64_t> dims; // ne[0] (row length, the fan-in) first
  Dtype type = DTYPE_F32;
  uint64_t n_elems = 0;
  uint64_t offset = 0;        // from the data section, aligned
  uint64_t n_bytes = 0;
  // Values: uniform in center +- half_width, unless fixed holds them all.
  float center = 0;
  float half_width = 0;
  std::vector<float> fixed;   // (n_elems) exact values, e.g. rope_freqs
};

std::string architecture(const Options& o);
// Tensors in file order with offsets; an error message instead when the shape
// does not fit the dtype (rows not a multiple of 32 for quantized types).
std::vector<TensorPlan> plan_tensors(const Options& o, std::string* error);
// Metadata and tensor infos.
void write_header(const Options& o, const std::vector<TensorPlan>& plan, GgufHeaderWriter* w);

}  // namespace synth
