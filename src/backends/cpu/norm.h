// CPU backend: normalization.
#pragma once

#include <cstdint>

namespace samepage::cpu {

// Per row r: y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w.
// x, y: (n_rows, n); w: (n). y may equal x. The mean of squares is summed in
// double so long rows lose nothing to accumulation.
void rmsnorm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps);

}  // namespace samepage::cpu
