// Kernel launches through one helper, so programmatic dependent launch (PDL,
// Hopper) is one switch: with it, each kernel may be scheduled while the
// previous one on the stream drains, and under stream capture the graph
// gets programmatic edges. The price is a rule every kernel launched here
// keeps: its first statement is pdl_enter(), before any global read or
// write (the previous kernel may still be running until it returns); the
// GEMVs and the norms start reading their const weights before pdl_wait(),
// and the q/k/v group with a rope reads its position from a graph's
// parameter buffer there too (written by the graph's first node, a copy, which
// every kernel of the graph starts after; no kernel writes it), and its
// rope factors (resident: written by no kernel). Since the norms,
// quantize_x and the grouped GEMVs of one wave let the next kernel start
// before their own wait, a read before the wait must be of bytes that no
// kernel writes at all, not only the one before it.
// Measured on the 1B decode with the small kernels alone launched so:
// within 1% of launching without it (bench/RESULTS.md, Session 13).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <utility>

namespace samepage::cuda {

// The stream kernels go to, and whether they may overlap their predecessor.
struct LaunchStream {
  cudaStream_t stream = nullptr;
  bool pdl = false;
};

// kernel<<<grid, block, smem, s.stream>>>(args...), with the PDL attribute
// when s.pdl, in clusters of cluster_x blocks along x when cluster_x > 1
// (grid.x a multiple of it). Returns the launch's error (configuration, not
// execution).
template <typename... Params, typename... Args>
cudaError_t launch_kernel_in_clusters(const LaunchStream& s, unsigned cluster_x, dim3 grid, dim3 block,
                                      size_t smem_bytes, void (*kernel)(Params...), Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem_bytes;
  config.stream = s.stream;
  cudaLaunchAttribute attribute[2] = {};
  unsigned n = 0;
  if (s.pdl) {
    attribute[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute[n++].val.programmaticStreamSerializationAllowed = 1;
  }
  if (cluster_x > 1) {
    attribute[n].id = cudaLaunchAttributeClusterDimension;
    attribute[n++].val.clusterDim = {cluster_x, 1, 1};
  }
  config.attrs = attribute;
  config.numAttrs = n;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

template <typename... Params, typename... Args>
cudaError_t launch_kernel(const LaunchStream& s, dim3 grid, dim3 block, size_t smem_bytes, void (*kernel)(Params...),
                          Args&&... args) {
  return launch_kernel_in_clusters(s, 1, grid, block, smem_bytes, kernel, std::forward<Args>(args)...);
}

// Attribute attr of the current device, asked once a device (launches may
// be captured); 0 where it cannot be read.
template <cudaDeviceAttr kAttr>
int cached_device_attribute() {
  static std::atomic<int> values[64];
  int device = 0, value = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return 0;
  const bool cached = device >= 0 && device < 64;
  if (cached && (value = values[device].load(std::memory_order_relaxed)) > 0) return value;
  if (cudaDeviceGetAttribute(&value, kAttr, device) != cudaSuccess || value < 1) return 0;
  if (cached) values[device].store(value, std::memory_order_relaxed);
  return value;
}

// *blocks = how many CTAs of `kernel` (threads each, smem_bytes of dynamic
// shared memory) an SM holds at once; false where it cannot be asked. The
// query is no stream work, so a stream capture (which would refuse it in
// its global mode) is relaxed around it.
template <typename Kernel>
bool query_resident_blocks(Kernel kernel, int threads, size_t smem_bytes, int* blocks) {
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  if (cudaThreadExchangeStreamCaptureMode(&mode) != cudaSuccess) return false;
  const cudaError_t e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, kernel, threads, smem_bytes);
  cudaThreadExchangeStreamCaptureMode(&mode);
  return e == cudaSuccess && *blocks > 0;
}

// SMs of the current device (at least 1).
inline int device_sm_count() { return std::max(1, cached_device_attribute<cudaDevAttrMultiProcessorCount>()); }

// Whether the current device has Hopper's bulk copies (compute capability
// 9.0 or later: bulk_copy.h).
inline bool device_has_bulk_copy() { return cached_device_attribute<cudaDevAttrComputeCapabilityMajor>() >= 9; }

// Grid-stride kernels: blocks of 256 threads, at most 65536 blocks.
inline unsigned grid_stride_blocks(long long n_items) {
  const long long blocks = (n_items + 255) / 256;
  return unsigned(blocks < 65536 ? blocks : 65536);
}

#ifdef __CUDACC__
// wait: the previous grid has completed and its stores are visible (a no-op
// when the kernel was launched without PDL). Every thread that reads or
// writes what an earlier kernel touches passes it first; reads of const
// weights (resident in HBM, written by no kernel) and of a graph's replay
// parameters may go out before it.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
// launch_dependents: the next kernel may be scheduled once every block of
// this one got here or exited. Given the rule above (before its wait a
// kernel reads only bytes no kernel writes), it may come anywhere, even
// before this kernel's own wait (the norms, row_norm.h): the next kernel's
// wait still waits for this grid's completion, which comes after this
// grid's wait; and every block of this grid is resident or done by then
// (as is every block of the grids before it), so none is starved of an SM.
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
// The first statement of every kernel launched by launch_kernel that reads
// nothing before the wait.
__device__ __forceinline__ void pdl_enter() {
  pdl_wait();
  pdl_launch_dependents();
}
#endif

}  // namespace samepage::cuda
