// samepage-synth-model: writes a GGUF v3 model of a named shape with random
// weights and a working byte-level BPE vocabulary, for tests and benchmarks
// on machines without network.
//
//   samepage-synth-model --shape tiny|tiny-llama3|smollm2-135m|llama-3.2-1b
//       [--dtype f32|f16|bf16|q8_0|q4_0|q4_1] [--embd-dtype DTYPE] [--seed S]
//       [--qkv-bias] [--untied] [--threads N] -o FILE
#include <chrono>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>

#include "synth_model.h"

namespace {

int usage(const std::string& why) {
  std::fprintf(stderr,
               "samepage-synth-model: %s\n"
               "usage: samepage-synth-model --shape NAME [--dtype T] [--embd-dtype T] [--seed S]\n"
               "         [--qkv-bias] [--untied] [--threads N] -o FILE\n"
               "  shapes: %s\n"
               "  dtypes: f32 f16 bf16 q8_0 q4_0 q4_1 (norms and biases stay f32; the embedding\n"
               "          follows --dtype, except q8_0 for q4_0/q4_1 as in real files)\n"
               "  --qkv-bias: Qwen2-style Q/K/V biases (general.architecture qwen2, NEOX RoPE)\n",
               why.c_str(), synth::shape_names().c_str());
  return 2;
}

bool parse_u64(const char* s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  synth::Options o;
  std::string shape, out, embd;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    uint64_t n = 0;
    if (a == "--qkv-bias") {
      o.qkv_bias = true;
    } else if (a == "--untied") {
      o.untied = true;
    } else if (!has_value) {
      return usage("unknown flag or missing value: " + std::string(a));
    } else if (a == "--shape") {
      shape = argv[++i];
    } else if (a == "-o" || a == "--output") {
      out = argv[++i];
    } else if (a == "--dtype") {
      if (!synth::parse_dtype(argv[++i], &o.dtype)) return usage("unknown dtype " + std::string(argv[i]));
    } else if (a == "--embd-dtype") {
      embd = argv[++i];
    } else if (a == "--seed") {
      if (!parse_u64(argv[++i], &o.seed)) return usage("--seed needs an unsigned integer");
    } else if (a == "--threads") {
      if (!parse_u64(argv[++i], &n) || n == 0 || n > 1024) return usage("--threads needs 1..1024");
      o.n_threads = static_cast<unsigned>(n);
    } else {
      return usage("unknown flag " + std::string(a));
    }
  }
  if (shape.empty() || out.empty()) return usage("--shape and -o are required");
  const synth::Shape* s = synth::find_shape(shape);
  if (s == nullptr) return usage("unknown shape " + shape);
  o.shape = *s;
  o.embd_dtype = synth::default_embd_dtype(o.dtype);
  if (!embd.empty() && !synth::parse_dtype(embd, &o.embd_dtype)) return usage("unknown dtype " + embd);

  const auto start = std::chrono::steady_clock::now();
  synth::WriteStats stats;
  const std::string error = synth::write_synth_model(o, out, &stats);
  if (!error.empty()) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %s: %s %s, %llu tensors, %.3f GB in %.2f s (%.2f GB/s, %u threads)\n", out.c_str(),
              shape.c_str(), synth::dtype_traits(o.dtype).name, static_cast<unsigned long long>(stats.n_tensors),
              stats.n_bytes / 1e9, seconds, stats.n_bytes / 1e9 / seconds, stats.n_threads);
  return 0;
}
