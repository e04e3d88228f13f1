// The registry's CUDA entry points in a build with nvcc. The part has no
// kernels yet (cuda_backend.cu), so it probes as unavailable and says why.
#include "backends/backend_entries.h"
#include "backends/cuda/cuda_backend.h"

namespace samepage {

BackendProbe cuda_backend_probe() {
  BackendProbe probe;
  probe.available = false;
  probe.unavailable = std::string("built, but ") + cuda::cuda_backend_status();
  return probe;
}

Result<std::unique_ptr<Backend>> cuda_backend_create() {
  return err("backend::cuda", std::string("built, but ") + cuda::cuda_backend_status());
}

}  // namespace samepage
