// The tensors one guest has created: views of its memory or runtime-owned
// buffers, addressed by small integer handles that are validated per call.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "samepage/backend.h"
#include "samepage/dtype.h"
#include "samepage/guest_account.h"

namespace samepage {

// The bytes behind one or more handles (a tensor and its reshaped aliases):
// the backend knows them by id, and they go when the last handle does.
struct TensorStorage {
  uint64_t id = 0;                  // the backend's identity (TensorDesc::id, TensorArg::id)
  BytesCharge charge;               // runtime storage or copy-mode staging, charged to the guest
};

struct Tensor {
  uint64_t id = 0;                  // this handle's identity, unique for the guest's lifetime, never reused
  DType dtype = DType_f32;
  int n_dims = 0;
  int64_t shape[4] = {1, 1, 1, 1};  // outermost first
  uint64_t n_bytes = 0;
  int32_t flags = 0;                // SP_SHARED / SP_CONST / SP_DEVICE
  bool is_view = false;
  uint64_t guest_offset = 0;        // views: where the bytes are in guest memory
  void* backend_data = nullptr;     // where kernels address it (tensor_create's answer)
  std::shared_ptr<TensorStorage> storage;  // shared with the aliases of sp_tensor_reshape
  bool write_protected = false;     // const views of whole pages: a guest write traps
  bool touched = false;             // the backend has computed on it
  bool file_mapped = false;         // a view of file-mapped pages (when it was made)

  // An alias (sp_tensor_reshape) takes its base's storage and where it lives.
  void share_storage_of(const Tensor& base) {
    is_view = base.is_view;
    guest_offset = base.guest_offset;
    backend_data = base.backend_data;
    storage = base.storage;
    write_protected = base.write_protected;
    touched = base.touched;
    file_mapped = base.file_mapped;
  }
};

class TensorTable {
 public:
  // Returns the new handle (> 0), or 0 when the table is full.
  int32_t add(Tensor tensor);
  Tensor* find(int32_t handle);
  bool remove(int32_t handle);
  template <typename Fn>
  void for_each(Fn fn) {
    for (auto& slot : slots_)
      if (slot) fn(*slot);
  }

  static constexpr size_t kMaxTensors = 1 << 16;

  // The numbering, for snapshots: handles 1..n_slots() exist, live or free,
  // and free ones are reused last first.
  size_t n_slots() const { return slots_.size(); }
  const std::vector<int32_t>& free_handles() const { return free_handles_; }
  // Restore into an empty table: n_slots handles, none live yet; put() fills
  // those not in free_handles. False when the numbering is inconsistent.
  bool reset_numbering(size_t n_slots, std::vector<int32_t> free_handles);
  bool put(int32_t handle, Tensor tensor);

 private:
  std::vector<std::unique_ptr<Tensor>> slots_;  // handle h lives at slots_[h - 1]
  std::vector<int32_t> free_handles_;
  // Which handles free_handles_ holds: kept by add/remove/reset_numbering so
  // put() asks in O(1) (a restore puts up to kMaxTensors tensors).
  std::vector<bool> is_free_;  // index: handle
};

}  // namespace samepage
