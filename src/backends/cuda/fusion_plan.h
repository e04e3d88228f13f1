// Which ops of a recorded sequence the CUDA backend launches together.
//
// A decode step of a 1B Llama records ~17 ops a layer, and on the H200 most
// of them are tiny: a kernel over 2,048 floats costs its launch and ramp, not
// its bytes. The planner finds runs of ops that one kernel can do with the
// same arithmetic (results bit-identical to running them one by one):
//   add_rmsnorm  add(A = X + B) then rmsnorm(N = A · w): the residual add and
//                the next layer's (or the FFN's) normalisation;
//   rope_store   rope(q), rope(k), set_rows(k cache ← k), set_rows(v cache ←
//                v) at one position, both sources f32: the attention
//                block's preamble.
//   gemv_group   matmul(Y_i = X · W_i) for 2 or 3 ops in a row with one X of
//                at most kFusedGemvMaxRows rows and one weight dtype and
//                k: the q, k, v projections (gemv_group.h);
//   gemv_silu    matmul(G = X · Wg), matmul(U = X · Wu), silu_mul(D = G, U):
//                the feed-forward block's gate and up;
//   gemv_rope_store  the q, k, v group of one row followed by the
//                rope_store ops on its products (rope mode 0: a pair is two
//                adjacent rows, which one block of the group kernel holds
//                when its tasks are an even count; else the enqueue runs the
//                group and the rope_store apart): an attention block's
//                first 7 ops in one kernel.
// The GEMV fusions sum in the warp kernel's order, which may differ
// from the kernel a single product picks by float rounding (the other
// fusions give the bits of op by op).
// The planner looks at ids, shapes, dtypes and positions only; whether the
// operands' bytes overlap is checked again when the fused kernel is
// enqueued (fusable_ranges), which falls back to the single ops.
// Their speed effect alone is not measured (bench/RESULTS.md: decode as a
// whole).
#pragma once

#include <cstddef>
#include <vector>

#include "samepage/backend.h"

namespace samepage::cuda {

enum class FusedKind { single, add_rmsnorm, rope_store, gemv_group, gemv_silu, gemv_rope_store };

// The most rows of X a fused GEMV takes (kernels.h kGemvMaxRows).
inline constexpr int64_t kFusedGemvMaxRows = 8;

struct PlannedStep {
  FusedKind kind = FusedKind::single;
  size_t first = 0;  // index of the step's first op in the sequence
  size_t count = 1;  // ops it covers
};

// Steps covering ops in order, each op exactly once.
std::vector<PlannedStep> plan_fusion(const std::vector<SequenceOp>& ops);

// Byte ranges a fused kernel touches: each pair must be the same range or
// disjoint (a kernel's thread reads and writes one index across them, so
// exact aliasing is safe and partial overlap is not).
struct ByteRange {
  const void* at;
  uint64_t n_bytes;
};
bool fusable_ranges(const std::vector<ByteRange>& ranges);

}  // namespace samepage::cuda
