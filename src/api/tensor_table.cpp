#include "api/tensor_table.h"

namespace samepage {

int32_t TensorTable::add(Tensor tensor) {
  auto owned = std::make_unique<Tensor>(std::move(tensor));
  if (!free_handles_.empty()) {
    const int32_t handle = free_handles_.back();
    free_handles_.pop_back();
    is_free_[static_cast<size_t>(handle)] = false;
    slots_[static_cast<size_t>(handle - 1)] = std::move(owned);
    return handle;
  }
  if (slots_.size() >= kMaxTensors) return 0;
  slots_.push_back(std::move(owned));
  return static_cast<int32_t>(slots_.size());
}

Tensor* TensorTable::find(int32_t handle) {
  if (handle <= 0 || static_cast<size_t>(handle) > slots_.size()) return nullptr;
  return slots_[static_cast<size_t>(handle - 1)].get();
}

bool TensorTable::remove(int32_t handle) {
  if (find(handle) == nullptr) return false;
  slots_[static_cast<size_t>(handle - 1)].reset();
  free_handles_.push_back(handle);
  if (is_free_.size() <= static_cast<size_t>(handle)) is_free_.resize(static_cast<size_t>(handle) + 1, false);
  is_free_[static_cast<size_t>(handle)] = true;
  return true;
}

bool TensorTable::reset_numbering(size_t n_slots, std::vector<int32_t> free_handles) {
  if (n_slots > kMaxTensors || free_handles.size() > n_slots) return false;
  for (const auto& slot : slots_)
    if (slot) return false;
  std::vector<bool> seen(n_slots + 1, false);
  for (int32_t h : free_handles) {
    if (h <= 0 || static_cast<size_t>(h) > n_slots || seen[static_cast<size_t>(h)]) return false;
    seen[static_cast<size_t>(h)] = true;
  }
  slots_.clear();
  slots_.resize(n_slots);
  free_handles_ = std::move(free_handles);
  is_free_ = std::move(seen);
  return true;
}

bool TensorTable::put(int32_t handle, Tensor tensor) {
  if (handle <= 0 || static_cast<size_t>(handle) > slots_.size() || slots_[static_cast<size_t>(handle - 1)]) return false;
  if (static_cast<size_t>(handle) < is_free_.size() && is_free_[static_cast<size_t>(handle)]) return false;
  slots_[static_cast<size_t>(handle - 1)] = std::make_unique<Tensor>(std::move(tensor));
  return true;
}

}  // namespace samepage
