// embedding: one thread per output element, the row decoded in place from
// the table (every weight dtype). A token outside the vocabulary is reported
// through the error report (first one wins) and its row left as it was.
#include <cuda_runtime.h>

#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"

namespace samepage::cuda {
namespace {

__global__ void embedding_kernel(DType dt, const uint8_t* table, size_t row_bytes, int64_t n_vocab, int64_t dim,
                                 const int32_t* tokens, int64_t n_tokens, float* y, EmbeddingError error) {
  pdl_enter();
  const int64_t total = n_tokens * dim;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = e / dim, i = e % dim;
    const int32_t token = tokens[t];
    if (token < 0 || token >= n_vocab) {
      // The claim is device memory (atomics on mapped host memory are not
      // assured over PCIe); the report, mapped host memory, takes plain stores.
      if (i == 0 && atomicCAS(error.claim, 0, 1) == 0) {
        error.report[1] = token, error.report[2] = int32_t(t);
        __threadfence_system();  // the flag reaches the host after the rest
        error.report[0] = 1;
      }
      continue;
    }
    y[e] = load_element(dt, table + size_t(token) * row_bytes, i);
  }
}

}  // namespace

void launch_embedding(const LaunchStream& s, DType dt, const void* table, int64_t n_vocab, int64_t dim,
                      const int32_t* tokens, int64_t n_tokens, float* y, EmbeddingError error) {
  const int64_t total = n_tokens * dim;
  if (total <= 0) return;
  launch_kernel(s, grid_stride_blocks(total), 256, 0, embedding_kernel, dt, static_cast<const uint8_t*>(table),
                dtype_row_bytes(dt, dim), n_vocab, dim, tokens, n_tokens, y, error);
}

}  // namespace samepage::cuda
