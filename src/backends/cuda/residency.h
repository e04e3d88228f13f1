// Where each tensor's bytes are for kernels (../shared/DESIGN.md §3), by
// tensor id:
//   in_place  a shared view inside registered guest memory: kernels write
//             it at the guest address itself (device pointer = host
//             pointer); as an input it is first moved by DMA, straight from
//             the registered pages, into an HBM mirror, because kernels that
//             re-read an operand (every warp of a GEMV reads all of x) would
//             otherwise cross the bus each time;
//   resident  a const view: one HBM copy, uploaded at its first use (the
//             guest promised not to write it) and reused until it is freed;
//             const views of the same guest bytes share it (a model whose
//             output projection is its embedding table: one copy, one upload),
//             and so do the views of every store in the process over the
//             same bytes of the same file (guests that map one model file:
//             one copy, uploaded by the first, freed with the last);
//   device    an SP_DEVICE view: an HBM copy uploaded when it is created,
//             written back to the guest bytes by sync;
//   runtime   a tensor_alloc tensor: zeroed HBM, no guest bytes;
//   staged    a view whose bytes are not in registered guest memory (copy
//             mode's staging buffers): an HBM mirror, copied in before every
//             op that names it and, for the output, back after.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "backends/cuda/host_registration.h"
#include "backends/cuda/staged_upload.h"
#include "samepage/backend.h"

namespace samepage::cuda {

class TensorStore {
 public:
  explicit TensorStore(HostRegistration& registration);
  ~TensorStore();
  TensorStore(const TensorStore&) = delete;
  TensorStore& operator=(const TensorStore&) = delete;

  // The address the host API keeps for the tensor (tensor_create's answer).
  Result<void*> create(const TensorDesc& t);
  void release(uint64_t id);
  // The device address of an operand for an op enqueued next on s, after
  // whatever must happen first (registration, first upload, copy in, DMA
  // into the mirror of an input). copy_in false leaves out the per-op copies
  // (mirror DMA, staging copy): a capture's preparation, whose graph
  // records them.
  Result<void*> prepare(const TensorArg& a, bool input, cudaStream_t s, bool copy_in = true);
  // True for a shared view in registered guest memory (kernels reach it in
  // place; as an input it goes through its HBM mirror).
  bool is_in_place(uint64_t id) const;
  // A shared view's guest bytes moved by DMA straight to dst (HBM) on s,
  // registration segment by segment, for an op that reads them once (no HBM
  // mirror); register_in_place registers them first, where registering may
  // happen (not under a stream capture).
  Status register_in_place(const TensorArg& a);
  Status dma_in_place(const TensorArg& a, void* dst, cudaStream_t s);
  // After the op: a staged output goes back to its host bytes.
  Status write_back(const TensorArg& out, cudaStream_t s);
  // sp_sync: a device view's guest bytes from its HBM copy.
  Status sync_to_guest(uint64_t id);
  // A tensor's authoritative bytes copied to or from host memory (a guest
  // snapshot, a restore), on s after the work already on it, waited for:
  // HBM for runtime tensors and device views, the guest (or staging) bytes
  // for the rest. A const view's bytes are the guest's promise: not written.
  Status read(const TensorArg& a, uint64_t offset, uint64_t n_bytes, void* out, cudaStream_t s);
  Status write(const TensorArg& a, const void* in, cudaStream_t s);

  // True when the tensor's operand address and its copies stay the same from
  // one op to the next (everything but staged views, whose pageable staging
  // bytes are copied per op): what a captured graph may name.
  bool capturable(uint64_t id) const;
  // True when the tensor's bytes are the backend's own HBM (runtime, device
  // and resident tensors): no copy in or out around an op, so a fused kernel
  // may read what another op of it wrote there.
  bool in_device_memory(uint64_t id) const;
  // True for a const view resident in HBM: its copy is written by no kernel
  // (only by its upload, before any op that reads it).
  bool is_resident(uint64_t id) const;
  // A quant const view's GEMV layout (gemv_layout.h), made from its
  // resident copy at the first ask (allocated, rewritten on s and waited
  // for, so no later kernel can read it early) when create, and kept as
  // long as the copy: null when a does not have one (not a resident quant
  // view of whole blocks, another shape asked first, create false, or no
  // room: it is made only while kGemvLayoutReserveBytes of HBM stay free).
  static constexpr uint64_t kGemvLayoutReserveBytes = uint64_t{2} << 30;
  Result<const void*> gemv_layout(const TensorArg& a, cudaStream_t s, bool create);
  uint64_t gemv_layout_bytes() const { return gemv_layout_bytes_; }

  // What const views' first uploads cost (seconds to completion, bytes), and
  // device allocations (runtime tensors, device views, mirrors).
  double upload_seconds() const { return upload_seconds_; }
  uint64_t uploaded_bytes() const { return uploaded_bytes_; }
  uint64_t staged_bytes() const { return staged_bytes_; }  // of uploaded_bytes: through StagedUpload
  uint64_t staging_pinned_bytes() const { return staged_.pinned_bytes(); }
  // Bytes of const views whose HBM copy another store had made (file-mapped
  // bytes of a file some other guest maps too): no allocation, no upload.
  uint64_t shared_bytes() const { return shared_bytes_; }
  double alloc_seconds() const { return alloc_seconds_; }
  uint64_t allocated_bytes() const { return allocated_bytes_; }


 private:
  enum class Where { in_place, resident, device, runtime, staged };
  // A resident HBM copy of guest bytes, shared by the const views over them
  // (and, for a file's bytes, by other stores: shared_by_file): freed with
  // its last holder.
  struct ConstCopy {
    ~ConstCopy();
    std::mutex lock;        // its upload and layout, which stores on other threads may ask for too
    void* hbm = nullptr;
    bool shared_by_file = false;  // other stores may find it (their streams wait for ready)
    cudaEvent_t ready = nullptr;  // shared_by_file: recorded after its upload, on the uploader's stream
    bool uploaded = false;  // the HBM copy holds the bytes
    void* gemv = nullptr;   // its GEMV layout, for gemv_dtype and gemv_k (gemv_layout.h)
    DType gemv_dtype = DType_f32;
    int64_t gemv_k = 0;
    uint64_t gemv_bytes = 0;
    uint64_t gemv_maker = 0;  // the id_ of the store whose gemv_layout_bytes counts it (0: none now)
    bool gemv_refused = false;  // no room for it when first asked: not asked again
  };
  // This store's hold on a copy: the views over it.
  struct Held {
    std::shared_ptr<ConstCopy> copy;
    uint32_t n_views = 0;
  };
  struct Record {
    Where where;
    void* host = nullptr;  // guest or staging bytes (views)
    void* hbm = nullptr;   // device memory (in_place: the input mirror, made at first use); owned unless copy
    uint64_t n_bytes = 0;
    ConstCopy* copy = nullptr;    // resident in guest memory: the shared copy hbm belongs to
    bool uploaded_alone = false;  // resident, not shared (copy mode's staging): hbm holds the bytes
  };
  // The copy of a new const view (its HBM allocated, not yet uploaded).
  Result<std::shared_ptr<ConstCopy>> const_copy_for(const TensorDesc& t);
  // The first upload of a resident view's bytes (the caller holds its copy's lock, if any).
  Status upload_const(const Record& r, cudaStream_t s);
  Result<void*> allocate(uint64_t n_bytes);
  // The record of a, refused when unknown or of another size than a says.
  Result<Record*> find_sized(const TensorArg& a, const char* where);
  // a's record, a shared view of a's size, registered (dma_in_place).
  Result<const Record*> registered_in_place(const TensorArg& a);
  // A copy between HBM and guest (or staging) bytes, cut at registration
  // boundaries (HostRegistration::for_each_segment).
  Status copy(void* dst, const void* src, uint64_t n_bytes, cudaMemcpyKind kind, cudaStream_t s, const char* where);

  HostRegistration& registration_;
  const uint64_t id_;  // this store among the process's (never reused): who made a shared copy's layout
  std::unordered_map<uint64_t, Record> records_;
  std::map<std::pair<const void*, uint64_t>, Held> const_copies_;  // by (guest address, bytes)
  // Copies shared by file whose bytes this store knows are there: it
  // uploaded them, or waited for their ready event once.
  std::unordered_set<const ConstCopy*> ready_here_;
  StagedUpload staged_;
  double upload_seconds_ = 0, alloc_seconds_ = 0;
  uint64_t uploaded_bytes_ = 0, allocated_bytes_ = 0, staged_bytes_ = 0, gemv_layout_bytes_ = 0, shared_bytes_ = 0;
};

}  // namespace samepage::cuda
