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

bool dtype_known(int32_t dtype) { return dtype >= TensorDType_f32 && dtype <= TensorDType_i32; }

uint32_t dtype_alignment(TensorDType dtype) {
  switch (dtype) {
    case TensorDType_f32:
    case TensorDType_i32: return 4;
    case TensorDType_f16:
    case TensorDType_bf16:
    case TensorDType_q8_0:
    case TensorDType_q4_0:
    case TensorDType_q4_1: return 2;
  }
  return 1;
}

const char* dtype_label(TensorDType dtype) {
  static const char* names[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "i32"};
  return dtype_known(dtype) ? names[dtype] : "?";
}

uint64_t tensor_bytes(TensorDType dtype, int n_dims, const int64_t* shape) {
  if (!dtype_known(dtype) || n_dims < 1 || n_dims > 4) return 0;
  uint64_t n = 1;
  for (int i = 0; i < n_dims; ++i) {
    if (shape[i] <= 0 || shape[i] > (int64_t{1} << 32)) return 0;
    if (n > (uint64_t{1} << 40) / static_cast<uint64_t>(shape[i])) return 0;  // caps at 1 TiB of elements
    n *= static_cast<uint64_t>(shape[i]);
  }
  const uint64_t row = static_cast<uint64_t>(shape[n_dims - 1]);
  switch (dtype) {
    case TensorDType_f32:
    case TensorDType_i32: return n * 4;
    case TensorDType_f16:
    case TensorDType_bf16: return n * 2;
    case TensorDType_q8_0: return row % 32 ? 0 : n / 32 * 34;
    case TensorDType_q4_0: return row % 32 ? 0 : n / 32 * 18;
    case TensorDType_q4_1: return row % 32 ? 0 : n / 32 * 20;
  }
  return 0;
}

}  // namespace samepage
