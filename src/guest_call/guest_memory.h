// Bounds-checked access to one guest's linear memory from host code.
// Every pointer a host call derives from a guest offset goes through here:
// the check is overflow-safe and uses the memory's current size.
#pragma once

#include <cstdint>
#include <cstring>

#include <wasm-rt.h>

#include "samepage/linear_memory.h"

namespace samepage {

class GuestMemory {
 public:
  // linear, when given, knows the read-only (const, file-mapped) pages.
  explicit GuestMemory(const wasm_rt_memory_t* memory, const LinearMemory* linear = nullptr)
      : memory_(memory), linear_(linear) {}

  uint64_t size_bytes() const { return memory_->size; }
  uint8_t* base() const { return memory_->data; }

  // Host pointer to guest bytes [offset, offset + n_bytes), or nullptr when
  // any of them lies outside the memory. n_bytes == 0 is valid at offset <= size.
  uint8_t* range(uint64_t offset, uint64_t n_bytes) const {
    const uint64_t size = memory_->size;
    if (offset > size || n_bytes > size - offset) return nullptr;
    return memory_->data + offset;
  }

  // Like range(), for bytes the host is about to write: also nullptr when any
  // of them is write-protected, so a guest cannot make the host fault there.
  uint8_t* writable_range(uint64_t offset, uint64_t n_bytes) const {
    uint8_t* p = range(offset, n_bytes);
    if (p == nullptr || linear_ == nullptr || linear_->is_writable(offset, n_bytes)) return p;
    return nullptr;
  }

  // Typed little-endian load/store; false when out of range (or, for store, read-only).
  template <typename T>
  bool load(uint64_t offset, T* out) const {
    const uint8_t* p = range(offset, sizeof(T));
    if (p == nullptr) return false;
    std::memcpy(out, p, sizeof(T));
    return true;
  }
  template <typename T>
  bool store(uint64_t offset, const T& value) const {
    uint8_t* p = writable_range(offset, sizeof(T));
    if (p == nullptr) return false;
    std::memcpy(p, &value, sizeof(T));
    return true;
  }

 private:
  const wasm_rt_memory_t* memory_;
  const LinearMemory* linear_;
};

}  // namespace samepage
