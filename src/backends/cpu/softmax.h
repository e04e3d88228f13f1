// CPU backend: softmax and argmax over rows.
#pragma once

#include <cstdint>

#include "backends/cpu/context.h"

namespace samepage::cpu {

// Per row: y = exp(x - max(x)) / sum(exp(x - max(x))); x, y: (n_rows, n),
// y may equal x. Subtracting the max keeps exp in range for any finite input;
// -inf entries give 0; a row that is all -inf, or holds a NaN, gives NaN.
// The context's ISA picks the exp: std::exp (scalar) or a vector polynomial
// accurate to a few ulp.
void softmax(const CpuContext& ctx, const float* x, float* y, int64_t n_rows, int64_t n);

// Index of the first maximum of x (n); NaN entries are skipped, and a row of
// nothing but NaN gives 0, so the guest always gets an index (samepage.h);
// -1 only when n <= 0, which the API's shape checks never pass.
int64_t argmax(const float* x, int64_t n);

}  // namespace samepage::cpu
