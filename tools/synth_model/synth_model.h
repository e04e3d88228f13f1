// Writes a synthetic GGUF model: random weights drawn per 32-element block
// from a counter-based generator (identical for any thread count), encoded in
// parallel into 64 MiB windows that one writer thread streams to the file.
#pragma once

#include <cstdint>
#include <string>

#include "model_plan.h"

namespace synth {

struct WriteStats {
  uint64_t n_bytes = 0;    // file size
  uint64_t n_tensors = 0;
  unsigned n_threads = 0;  // threads that drew weights
};

// Empty on success, else "[synth] ..." saying what failed.
std::string write_synth_model(const Options& options, const std::string& path, WriteStats* stats);

// The float values of elements [first, first + n) of tensor t before
// encoding; first is a multiple of 32. Tests use it as the exact reference.
void draw_values(const Options& options, const TensorPlan& t, uint64_t first, uint64_t n, float* out);

}  // namespace synth
