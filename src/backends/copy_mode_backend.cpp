#include "backends/copy_mode_backend.h"

#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace samepage {
namespace {

struct FreeBytes {
  void operator()(void* p) const { std::free(p); }
};

class CopyModeBackend final : public Backend {
 public:
  explicit CopyModeBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)), caps_(inner_->caps()) {
    caps_.zero_copy_host_memory = false;
    caps_.notes.push_back("copy mode: views are staged in backend buffers, copied in and out per op");
  }

  const BackendCaps& caps() const override { return caps_; }
  Status use_host_memory(void*, uint64_t) override { return Status::ok(); }  // never addresses it

  Result<void*> tensor_create(const TensorDesc& t) override {
    if (t.guest_data == nullptr) return inner_->tensor_create(t);
    const uint64_t rounded = (t.n_bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (p == nullptr) return err("copy_mode", "cannot allocate " + std::to_string(t.n_bytes) + " bytes of staging");
    // Not zeroed: every op copies all its operands in before it reads them,
    // so staging is never seen unwritten, and stays unresident until used.
    staged_[t.id] = Staged{t.guest_data, std::unique_ptr<void, FreeBytes>(p), t.n_bytes};
    TensorDesc inner_view = t;
    inner_view.guest_data = p;  // the inner backend sees the staging as the view's bytes
    if (auto r = inner_->tensor_create(inner_view); !r) {
      staged_.erase(t.id);
      return r.status();
    }
    return p;
  }
  void tensor_release(uint64_t id) override {
    staged_.erase(id);
    inner_->tensor_release(id);
  }
  Status tensor_sync(uint64_t id) override { return inner_->tensor_sync(id); }
  // Runtime tensors are the inner backend's own.
  Status tensor_read_range(const TensorArg& t, uint64_t offset, uint64_t n_bytes, void* out) override {
    return inner_->tensor_read_range(t, offset, n_bytes, out);
  }
  Status tensor_write(const TensorArg& t, const void* in) override { return inner_->tensor_write(t, in); }

  Status execute(const OpArgs& op) override {
    const Staged* out = nullptr;
    for (int k = 0; k < 4; ++k) {
      auto it = staged_.find(op.t[k].id);
      if (op.t[k].id == 0 || it == staged_.end()) continue;
      std::memcpy(it->second.staging.get(), it->second.guest, it->second.n_bytes);  // copy in
      if (k == 0) out = &it->second;
    }
    if (Status s = inner_->execute(op); !s) return s;
    if (out != nullptr) std::memcpy(out->guest, out->staging.get(), out->n_bytes);  // copy out
    return Status::ok();
  }
  void memory_event(const MemoryEvent& event) override { inner_->memory_event(event); }
  Status sync() override { return inner_->sync(); }

 private:
  struct Staged {
    void* guest;
    std::unique_ptr<void, FreeBytes> staging;
    uint64_t n_bytes;
  };
  std::unique_ptr<Backend> inner_;
  BackendCaps caps_;
  std::unordered_map<uint64_t, Staged> staged_;  // views, by tensor id
};

}  // namespace

std::unique_ptr<Backend> make_copy_mode_backend(std::unique_ptr<Backend> inner) {
  return std::make_unique<CopyModeBackend>(std::move(inner));
}

}  // namespace samepage
