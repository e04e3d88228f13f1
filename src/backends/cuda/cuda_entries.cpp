// The registry's CUDA entry points in a build with nvcc: the probe says what
// GPU 0 is (or why there is none), create makes the backend on it.
#include "backends/backend_entries.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_probe.h"

namespace samepage {

BackendProbe cuda_backend_probe() {
  static const BackendProbe probe = cuda::probe_device();  // the driver answers once per process
  return probe;
}

Result<std::unique_ptr<Backend>> cuda_backend_create(const BackendOptions& options) {
  const BackendProbe probe = cuda_backend_probe();
  if (!probe.available) return err("backend::cuda", probe.unavailable);
  return cuda::create_cuda_backend(probe.caps, options);
}

}  // namespace samepage
