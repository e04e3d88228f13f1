// Each backend's two entry points, listed in backend_registry.cpp. A backend
// absent from the build is linked as a stub (backends/no_cuda) that probes
// as unavailable and says why, like MLX's no_gpu.
#pragma once

#include <memory>

#include "samepage/backend.h"

namespace samepage {

BackendProbe cpu_backend_probe();
Result<std::unique_ptr<Backend>> cpu_backend_create(const BackendOptions& options);

BackendProbe cuda_backend_probe();
Result<std::unique_ptr<Backend>> cuda_backend_create(const BackendOptions& options);

}  // namespace samepage
