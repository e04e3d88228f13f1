// The tensors one guest has created: views of its memory or runtime-owned
// buffers, addressed by small integer handles that are validated per call.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "samepage/backend.h"
#include "samepage/dtype.h"
#include "samepage/guest_account.h"

namespace samepage {

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<uint8_t, AlignedFree>;

struct Tensor {
  uint64_t id = 0;                  // unique for the guest's lifetime, never reused
  DType dtype = DType_f32;
  int n_dims = 0;
  int64_t shape[4] = {1, 1, 1, 1};  // outermost first
  uint64_t n_bytes = 0;
  int32_t flags = 0;                // SP_SHARED / SP_CONST / SP_DEVICE
  bool is_view = false;
  uint64_t guest_offset = 0;        // views: where the bytes are in guest memory
  AlignedBytes storage;             // runtime-allocated tensors: the bytes
  AlignedBytes staging;             // copy mode: the backend's own copy of a view
  BytesCharge charge;               // storage and staging, charged to the guest
  bool write_protected = false;     // const views of whole pages: a guest write traps
  const void* last_backend_address = nullptr;  // where the backend last touched it
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

 private:
  std::vector<std::unique_ptr<Tensor>> slots_;  // handle h lives at slots_[h - 1]
  std::vector<int32_t> free_handles_;
};

}  // namespace samepage
