// The streamed batch-1 GEMV (gemv_stream.cu): y (n) = W (n, k) · x for a
// quant W in its GEMV layout (gemv_layout.h), one CTA an SM for the whole
// product, W brought into shared memory by bulk copies (bulk_copy.h) in a
// ring of stages of a few rows each, while the CTA's warps work on the
// stages that landed. The grouped kernel (gemv_group.h) keeps a lane's
// share of a row in its registers, and a q4 block is only 18 bytes: at
// most 8 of them in flight a lane held it to 66–72% of the copy bandwidth
// on a vocabulary head (bench/RESULTS.md, Session 17). Here the copy
// engine keeps a CTA's ring (up to 160 KiB) in flight whatever the block size, and
// the first stages go out before the wait for the previous kernel (W const).
// Each output is the grouped kernel's with a row a task to the bit: the
// same block arithmetic (gemv_rows.h PackedQ::dot_add), units in the same
// order, the same warp sum (the grouped kernel also reads a row of at most
// 256 blocks with one warp: gemv_group_warps_per_row).
#pragma once

#include <cstdint>

#include "backends/cuda/kernels.h"

namespace samepage::cuda {

struct GemvStreamArgs {
  DType dtype;     // q8_0, q4_0 or q4_1
  int64_t n, k;    // W (n, k)
  const void* w;   // W in the GEMV layout, 16-byte aligned
  QuantizedX xq;   // x rounded to 8-bit blocks (launch_quantize_x), 16-byte aligned quants
  float* y;        // n outputs
  bool w_const;    // W written by no kernel (launch_gemv): the first stages go out before the wait
  int stages = 0;  // stages in the ring (0: as many as kGemvStreamRingBytes holds; a bench's knob)
};

// Shared memory the ring of one CTA may take (the H200 gives a block up to 227 KiB).
inline constexpr int64_t kGemvStreamRingBytes = 160 * 1024;

// Whether launch_gemv_stream takes a product of m rows of x with W (n, k)
// of dt at w, x rounded at xq: a device with bulk copies (sm_90+) and code
// built for it, one row, quant weights in the GEMV layout, k at most 8,192
// (a lane keeps its share of x in registers), 16-byte aligned quants of x.
bool gemv_stream_fits(DType dt, int64_t m, int64_t n, int64_t k, const void* w, const QuantizedX& xq);
// The stages a launch's ring has for W of dt with rows of k, asked for
// `requested` (0: the default; clamped to what fits): for a bench's labels.
int gemv_stream_stages(DType dt, int64_t k, int requested);
Status launch_gemv_stream(const LaunchStream& s, const GemvStreamArgs& a);

}  // namespace samepage::cuda
