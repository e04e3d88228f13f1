// RoPE: one thread per (token, head, pair); the pair's rotation is
// rope_pair.h's (shared with the fused rope + cache store).
#include <cuda_runtime.h>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"
#include "backends/cuda/rope_pair.h"

namespace samepage::cuda {
namespace {

__global__ void rope_kernel(const float* x, float* y, int64_t n_tokens, int64_t pos0, const int32_t* pos0_at, RopeShape r) {
  pdl_enter();
  if (pos0_at != nullptr) pos0 = *pos0_at;  // a replayed graph's parameter
  const int64_t total = n_tokens * r.n_heads * (r.head_dim / 2);
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t at, partner;
    float a, b;
    rope_pair(x, y, e, pos0, r, &at, &partner, &a, &b);
  }
}

}  // namespace

void launch_rope(const LaunchStream& s, const float* x, float* y, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                 int64_t pos0, const int32_t* pos0_at, float freq_base, float freq_scale, int32_t mode,
                 const float* factors) {
  const int64_t total = n_tokens * n_heads * (head_dim / 2);
  if (total <= 0) return;
  // Small blocks: a decode step's rope is ~1,000 pairs of double-precision
  // pow and sincos, latency-bound, so spread over as many SMs as possible.
  const int64_t blocks = (total + 63) / 64;
  const RopeShape r{n_heads, head_dim, double(freq_base), double(freq_scale), mode, factors};
  launch_kernel(s, unsigned(blocks < 65536 ? blocks : 65536), 64, 0, rope_kernel, x, y, n_tokens, pos0, pos0_at, r);
}

}  // namespace samepage::cuda
