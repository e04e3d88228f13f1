// Where each tensor's bytes are for kernels (DESIGN.md §3), by tensor id:
//   in_place  a shared view inside registered guest memory: kernels write
//             it at the guest address itself (device pointer = host
//             pointer); as an input it is first moved by DMA, straight from
//             the registered pages, into an HBM mirror, because kernels that
//             re-read an operand (every warp of a GEMV reads all of x) would
//             otherwise cross the bus each time;
//   resident  a const view: one HBM copy, uploaded at its first use (the
//             guest promised not to write it) and reused until it is freed;
//   device    an SP_DEVICE view: an HBM copy uploaded when it is created,
//             written back to the guest bytes by sync;
//   runtime   a tensor_alloc tensor: zeroed HBM, no guest bytes;
//   staged    a view whose bytes are not in registered guest memory (copy
//             mode's staging buffers): an HBM mirror, copied in before every
//             op that names it and, for the output, back after.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <unordered_map>

#include "backends/cuda/host_registration.h"
#include "samepage/backend.h"

namespace samepage::cuda {

class TensorStore {
 public:
  explicit TensorStore(HostRegistration& registration) : registration_(registration) {}
  ~TensorStore();
  TensorStore(const TensorStore&) = delete;
  TensorStore& operator=(const TensorStore&) = delete;

  // The address the host API keeps for the tensor (tensor_create's answer).
  Result<void*> create(const TensorDesc& t);
  void release(uint64_t id);
  // The device address of an operand for an op enqueued next on s, after
  // whatever must happen first (registration, first upload, copy in, DMA
  // into the mirror of an input).
  Result<void*> prepare(const TensorArg& a, bool input, cudaStream_t s);
  // After the op: a staged output goes back to its host bytes.
  Status write_back(const TensorArg& out, cudaStream_t s);
  // sp_sync: a device view's guest bytes from its HBM copy.
  Status sync_to_guest(uint64_t id);
  // A tensor's authoritative bytes copied to or from host memory (a guest
  // snapshot, a restore), on s after the work already on it, waited for:
  // HBM for runtime tensors and device views, the guest (or staging) bytes
  // for the rest. A const view's bytes are the guest's promise: not written.
  Status read(const TensorArg& a, void* out, cudaStream_t s);
  Status write(const TensorArg& a, const void* in, cudaStream_t s);

  // True when the tensor's operand address and its copies stay the same from
  // one op to the next (everything but staged views, whose pageable staging
  // bytes are copied per op): what a captured graph may name.
  bool capturable(uint64_t id) const;
  // True when the tensor's bytes are the backend's own HBM (runtime, device
  // and resident tensors): no copy in or out around an op, so a fused kernel
  // may read what another op of it wrote there.
  bool in_device_memory(uint64_t id) const;


 private:
  enum class Where { in_place, resident, device, runtime, staged };
  struct Record {
    Where where;
    void* host = nullptr;  // guest or staging bytes (views)
    void* hbm = nullptr;   // owned device memory (in_place: the input mirror, made at first use)
    uint64_t n_bytes = 0;
    bool uploaded = false;  // resident: the HBM copy holds the bytes
  };
  Result<void*> allocate(uint64_t n_bytes);
  // The record of a, refused when unknown or of another size than a says.
  Result<Record*> find_sized(const TensorArg& a, const char* where);
  // A copy between HBM and guest (or staging) bytes, cut at registration
  // boundaries (HostRegistration::for_each_segment).
  Status copy(void* dst, const void* src, uint64_t n_bytes, cudaMemcpyKind kind, cudaStream_t s, const char* where);

  HostRegistration& registration_;
  std::unordered_map<uint64_t, Record> records_;
};

}  // namespace samepage::cuda
