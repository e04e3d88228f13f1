// Compiled by nvcc whenever it is found (SAMEPAGE_CUDA), so that the CUDA
// toolchain and this part's include scope are exercised in CI before the
// first kernel lands. Not registered as a backend: it has nothing to offer.
#include "backends/cuda/cuda_backend.h"

namespace samepage::cuda {

const char* cuda_backend_status() { return "cuda: no kernels yet"; }

}  // namespace samepage::cuda
