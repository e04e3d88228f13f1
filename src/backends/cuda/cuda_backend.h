// The CUDA backend (DESIGN.md §3): its place in the build, no kernels yet.
#pragma once

namespace samepage::cuda {

// Why this backend cannot run anything yet, for messages.
const char* cuda_backend_status();

}  // namespace samepage::cuda
