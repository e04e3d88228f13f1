// Bounds-checked access to one guest's linear memory from host code.
// Every pointer a host call derives from a guest offset goes through here:
// the check is overflow-safe and uses the memory's current size.
#pragma once

#include <cstdint>
#include <cstring>

#include <wasm-rt.h>

namespace samepage {

class GuestMemory {
 public:
  explicit GuestMemory(const wasm_rt_memory_t* memory) : memory_(memory) {}

  uint64_t size_bytes() const { return memory_->size; }
  uint8_t* base() const { return memory_->data; }

  // Host pointer to guest bytes [offset, offset + n_bytes), or nullptr when
  // any of them lies outside the memory. n_bytes == 0 is valid at offset <= size.
  uint8_t* range(uint64_t offset, uint64_t n_bytes) const {
    const uint64_t size = memory_->size;
    if (offset > size || n_bytes > size - offset) return nullptr;
    return memory_->data + offset;
  }

  // Typed little-endian load/store; false when out of range.
  template <typename T>
  bool load(uint64_t offset, T* out) const {
    const uint8_t* p = range(offset, sizeof(T));
    if (p == nullptr) return false;
    std::memcpy(out, p, sizeof(T));
    return true;
  }
  template <typename T>
  bool store(uint64_t offset, const T& value) const {
    uint8_t* p = range(offset, sizeof(T));
    if (p == nullptr) return false;
    std::memcpy(p, &value, sizeof(T));
    return true;
  }

 private:
  const wasm_rt_memory_t* memory_;
};

}  // namespace samepage
