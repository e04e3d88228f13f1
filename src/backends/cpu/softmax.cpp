// softmax (max, exp-and-sum kernel, scale) and argmax.
#include "backends/cpu/softmax.h"

#include <cmath>
#include <limits>

#include "backends/cpu/kernels.h"

namespace samepage::cpu {

namespace {

// The largest entry, or NaN when the row holds a NaN (so the row becomes NaN).
float row_max(const float* x, int64_t n) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) return x[i];
    max = x[i] > max ? x[i] : max;
  }
  return max;
}

}  // namespace

void softmax(const CpuContext& ctx, const float* x, float* y, int64_t n_rows, int64_t n) {
  const CpuKernels& kernels = cpu_kernels(ctx.isa());
  for (int64_t r = 0; r < n_rows; ++r, x += n, y += n) {
    const float max = row_max(x, n);
    const float sum = kernels.exp_sum(x, y, max, n);
    // sum >= 1 (the max contributes exp(0)) unless the row is all -inf or NaN.
    const float inv_sum = 1.0f / sum;
    for (int64_t i = 0; i < n; ++i) y[i] *= inv_sum;
  }
}

int64_t argmax(const float* x, int64_t n) {
  if (n <= 0) return -1;
  // best stays 0 while everything seen is NaN; the first real entry replaces it.
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (std::isnan(x[i])) continue;
    if (std::isnan(x[best]) || x[i] > x[best]) best = i;
  }
  return best;
}

}  // namespace samepage::cpu
