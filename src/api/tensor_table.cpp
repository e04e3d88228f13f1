#include "api/tensor_table.h"

namespace samepage {

int32_t TensorTable::add(Tensor tensor) {
  auto owned = std::make_unique<Tensor>(std::move(tensor));
  if (!free_handles_.empty()) {
    const int32_t handle = free_handles_.back();
    free_handles_.pop_back();
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
  return true;
}

}  // namespace samepage
