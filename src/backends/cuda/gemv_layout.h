// The GEMV layout of quant weights: the HBM copy a batch-1 product reads.
//
// A GGUF quant block keeps its f16 scale beside its quants (18, 20 or 34
// bytes), so its quants start 2-byte aligned and a lane must read them in
// 2-byte pieces: the quant GEMVs were instruction-bound at a quarter of
// the copy bandwidth. Here each row is rewritten once, when the weight is
// first used by a product, as its blocks' quants (16 bytes a block; q8_0:
// 32), then their f16 scales, then (q4_1) their f16 mins, padded to 16
// bytes, so that a lane reads a whole block's quants as 16-byte vectors
// (gemv_rows.h PackedQ). The numbers are the same; only their places move.
// It is a second HBM copy beside the resident one (which embedding rows
// and the prefill GEMM read as the guest wrote it), about the weight's size.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "samepage/dtype.h"
#include "samepage/status.h"

namespace samepage::cuda {

// Whether W (n, k) of dt has a GEMV layout: quant blocks, whole 32-element blocks a row.
constexpr bool gemv_layout_applies(DType dt, int64_t k) { return dtype_is_quantized(dt) && k > 0 && k % 32 == 0; }
// Bytes of one row in the GEMV layout (a multiple of 16).
constexpr uint64_t gemv_layout_row_bytes(DType dt, int64_t k) {
  const uint64_t nb = uint64_t(k) / 32;
  const uint64_t qs = dt == DType_q8_0 ? 32 : 16, scales = dt == DType_q4_1 ? 4 : 2;
  return (nb * (qs + scales) + 15) / 16 * 16;
}

// dst (n_rows rows of gemv_layout_row_bytes) = src (n_rows GGUF rows of k), on s.
Status launch_to_gemv_layout(cudaStream_t s, DType dt, const void* src, void* dst, int64_t n_rows, int64_t k);

}  // namespace samepage::cuda
