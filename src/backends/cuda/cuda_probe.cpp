#include "backends/cuda/cuda_probe.h"

#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <string>


namespace samepage::cuda {
namespace {

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

std::string gib_text(size_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f GiB", double(bytes) / double(1ull << 30));
  return b;
}

}  // namespace

BackendProbe probe_device() {
  BackendProbe probe;
  int n_devices = 0;
  // Kernels load with the context, not at their first launch (CUDA's lazy
  // default): a guest's first op then costs only its own work and memory
  // (the zero-copy benchmark measures RSS across it). A caller's own
  // setting wins. Must precede the driver's initialisation, just below.
  setenv("CUDA_MODULE_LOADING", "EAGER", 0);
  // Initialises the driver, creates no context.
  if (cudaError_t e = cudaGetDeviceCount(&n_devices); e != cudaSuccess) {
    probe.unavailable = std::string("no usable CUDA driver or GPU: ") + cudaGetErrorName(e) + " (" +
                        cudaGetErrorString(e) + ")";
    cudaGetLastError();  // the error is reported, not left for the next call
    return probe;
  }
  if (n_devices == 0) {
    probe.unavailable = "the CUDA driver reports no GPU";
    return probe;
  }
  cudaDeviceProp p{};
  if (cudaError_t e = cudaGetDeviceProperties(&p, kDevice); e != cudaSuccess) {
    probe.unavailable = std::string("cannot query GPU 0: ") + cudaGetErrorString(e);
    return probe;
  }
  int driver = 0, runtime = 0, host_ptr = 0, register_ok = 0, register_ro = 0, pageable = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  cudaDeviceGetAttribute(&host_ptr, cudaDevAttrCanUseHostPointerForRegisteredMem, kDevice);
  cudaDeviceGetAttribute(&register_ok, cudaDevAttrHostRegisterSupported, kDevice);
  cudaDeviceGetAttribute(&register_ro, cudaDevAttrHostRegisterReadOnlySupported, kDevice);
  cudaDeviceGetAttribute(&pageable, cudaDevAttrPageableMemoryAccess, kDevice);
  if (p.major < 9) {
    probe.unavailable = std::string(p.name) + " has compute capability " + std::to_string(p.major) + "." +
                        std::to_string(p.minor) + "; this build's kernels need 9.0 (sm_90)";
    return probe;
  }

  probe.available = true;
  BackendCaps& c = probe.caps;
  c.name = "cuda";
  c.device = std::string(p.name) + ", " + gib_text(p.totalGlobalMem) + ", compute capability " +
             std::to_string(p.major) + "." + std::to_string(p.minor) + ", " + std::to_string(p.multiProcessorCount) +
             " SMs";
  // Guest memory is addressed in place once registered, at its own address.
  c.zero_copy_host_memory = register_ok && host_ptr && p.unifiedAddressing;
  c.device_memory = true;
  c.native_replay = true;  // unless the backend is made with BackendOptions::native_replay false
  c.notes.push_back("driver " + version_text(driver) + ", runtime " + version_text(runtime));
  c.notes.push_back(std::string("host registration: ") + (register_ok ? "yes" : "no") + ", read-only: " +
                    (register_ro ? "yes" : "no") + ", device pointer = host pointer: " + (host_ptr ? "yes" : "no") +
                    ", pageable memory access: " + (pageable ? "yes" : "no (a kernel reads only registered guest memory)"));
  c.notes.push_back("guest memory registered lazily in 64 MiB chunks of the committed range; file-mapped and "
                    "write-protected pages read-only");
  c.notes.push_back("const views: uploaded once to HBM at first use; runtime tensors and SP_DEVICE views: HBM; "
                    "shared views: in place through the registered mapping");
  c.notes.push_back("sequences: captured once as a CUDA graph, positions read from a parameter buffer; a replay is "
                    "one graph launch and one synchronisation (--no-graphs: op by op)");
  c.notes.push_back("kernels launched with programmatic dependent launch: each is scheduled while the one before it "
                    "drains (--no-pdl: strictly one after the other)");
  c.notes.push_back("captured graphs fuse the residual add with the next rmsnorm, rope with the k/v cache stores, the "
                    "q/k/v products and gate/up with silu into one kernel each (--no-fusion: every op its own)");
  return probe;
}

}  // namespace samepage::cuda
