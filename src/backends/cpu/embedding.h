// CPU backend: embedding lookup.
#pragma once

#include <cstdint>

#include "backends/cpu/dtype.h"
#include "samepage/status.h"

namespace samepage::cpu {

// y[t] = row tokens[t] of table, dequantized to f32.
// table: (n_vocab, dim) in table_dtype (any but i32; quant types need
// dim % 32 == 0); tokens: (n_tokens); y: (n_tokens, dim).
// Fails, naming the token, when a token is outside [0, n_vocab).
Status embedding(DType table_dtype, const void* table, int64_t n_vocab, int64_t dim, const int32_t* tokens,
                 int64_t n_tokens, float* y);

}  // namespace samepage::cpu
