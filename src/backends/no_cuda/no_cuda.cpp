// The CUDA entry of a build without CUDA: it answers by name, never by
// silence (MLX's no_gpu). A build with nvcc links backends/cuda instead.
#include "backends/backend_entries.h"

namespace samepage {

namespace {
constexpr const char* kNotBuilt = "not built: this build has no CUDA backend (configure with nvcc found)";
}

BackendProbe cuda_backend_probe() {
  BackendProbe probe;
  probe.available = false;
  probe.unavailable = kNotBuilt;
  return probe;
}

Result<std::unique_ptr<Backend>> cuda_backend_create(const BackendOptions&) { return err("backend::cuda", kNotBuilt); }

}  // namespace samepage
