// What the GPU is, from the runtime's device queries alone: device 0's
// name, memory, compute capability, driver and runtime versions, and the
// properties the backend relies on (mapped host memory at the host's own
// addresses). Unavailable, with the reason, where there is no driver or GPU.
#pragma once

#include "samepage/backend.h"

namespace samepage::cuda {

// The device the backend uses: always 0 (one GPU per backend for now).
inline constexpr int kDevice = 0;

BackendProbe probe_device();

}  // namespace samepage::cuda
