// The CUDA backend (../shared/DESIGN.md §3): guest memory registered lazily and used
// in place, weights resident in HBM, one kernel launch (or a few) per op on
// one stream. An op's outputs are in guest memory when execute returns; a
// replayed sequence synchronises once, at its end.
#pragma once

#include <memory>

#include "samepage/backend.h"

namespace samepage::cuda {

// Creates the backend on GPU 0 with the probed capabilities, as options ask
// (native_replay: CUDA graphs; overlap_launches: programmatic dependent launch).
Result<std::unique_ptr<Backend>> create_cuda_backend(const BackendCaps& caps, const BackendOptions& options);

}  // namespace samepage::cuda
