// embedding: one dequantized row per token.
#include "backends/cpu/embedding.h"

#include <string>

namespace samepage::cpu {

Status embedding(DType table_dtype, const void* table, int64_t n_vocab, int64_t dim, const int32_t* tokens,
                 int64_t n_tokens, float* y) {
  if (!dtype_is_weight(table_dtype)) return err("cpu::embedding", std::string("unsupported dtype ") + dtype_name(table_dtype));
  if (dim < 0 || n_vocab < 0 || n_tokens < 0) return err("cpu::embedding", "negative size");
  const size_t table_row_bytes = row_bytes(table_dtype, dim);
  if (dim > 0 && table_row_bytes == 0) {
    return err("cpu::embedding", "dim = " + std::to_string(dim) + " is not a multiple of the block size");
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    if (tokens[t] < 0 || tokens[t] >= n_vocab) {
      return err("cpu::embedding", "token " + std::to_string(tokens[t]) + " at index " + std::to_string(t) +
                                       " is outside the vocabulary of " + std::to_string(n_vocab));
    }
  }
  const auto* rows = static_cast<const uint8_t*>(table);
  for (int64_t t = 0; t < n_tokens; ++t) {
    Status s = dequantize_row(table_dtype, rows + size_t(tokens[t]) * table_row_bytes, y + t * dim, dim);
    if (!s) return s;
  }
  return Status::ok();
}

}  // namespace samepage::cpu
