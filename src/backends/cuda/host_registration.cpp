#include "backends/cuda/host_registration.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "backends/cuda/cuda_check.h"

namespace samepage::cuda {

void HostRegistration::attach(uint8_t* base, uint64_t reserved_bytes) {
  base_ = base;
  reserved_ = reserved_bytes;
}

bool HostRegistration::contains(const void* p, uint64_t n) const {
  if (base_ == nullptr) return false;
  const auto* b = static_cast<const uint8_t*>(p);
  return b >= base_ && uint64_t(b - base_) <= committed_ && n <= committed_ - uint64_t(b - base_);
}

bool HostRegistration::registered(const void* p, uint64_t n) const {
  if (!contains(p, n)) return false;
  if (n == 0) return true;
  const uint64_t lo = uint64_t(static_cast<const uint8_t*>(p) - base_), hi = lo + n;
  for (uint64_t c = lo / kChunkBytes; c <= (hi - 1) / kChunkBytes; ++c) {
    auto it = chunks_.find(c);
    if (it == chunks_.end() || it->second.begin > std::max(lo, c * kChunkBytes) ||
        it->second.end < std::min(hi, (c + 1) * kChunkBytes))
      return false;
  }
  return true;
}

Status HostRegistration::ensure(const void* p, uint64_t n) {
  if (!contains(p, n)) return err("cuda::register", "bytes outside the committed guest memory");
  if (n == 0) return Status::ok();
  const uint64_t lo = uint64_t(static_cast<const uint8_t*>(p) - base_), hi = lo + n;
  const uint64_t page = host_page_bytes();  // committed_ is whole wasm pages: whole host pages too
  for (uint64_t c = lo / kChunkBytes; c <= (hi - 1) / kChunkBytes; ++c) {
    const uint64_t need_lo = std::max(lo, c * kChunkBytes) / page * page;
    const uint64_t need_hi = std::min((std::min(hi, (c + 1) * kChunkBytes) + page - 1) / page * page, committed_);
    auto it = chunks_.find(c);
    if (it == chunks_.end()) {
      Chunk chunk;
      if (Status s = register_pieces(need_lo, need_hi, chunk); !s) return s;
      chunk.begin = need_lo;
      chunk.end = need_hi;
      chunks_[c] = std::move(chunk);
      continue;
    }
    // Beside what the chunk registered (the span stays one run): below it, above it.
    Chunk& chunk = it->second;
    if (need_lo < chunk.begin) {
      if (Status s = register_pieces(need_lo, chunk.begin, chunk); !s) return s;
      chunk.begin = need_lo;
    }
    if (need_hi > chunk.end) {
      if (Status s = register_pieces(chunk.end, need_hi, chunk); !s) return s;
      chunk.end = need_hi;
    }
  }
  return Status::ok();
}

bool HostRegistration::extend(const void* p, uint64_t n) {
  if (!contains(p, n) || n == 0) return false;
  const uint64_t lo = uint64_t(static_cast<const uint8_t*>(p) - base_), hi = lo + n;
  const uint64_t page = host_page_bytes();
  for (uint64_t c = lo / kChunkBytes; c <= (hi - 1) / kChunkBytes; ++c) {
    auto it = chunks_.find(c);
    // Joining a run across a gap would pin the gap's pages too: only bytes that touch or overlap it.
    const uint64_t need_lo = std::max(lo, c * kChunkBytes) / page * page;
    const uint64_t need_hi = (std::min(hi, (c + 1) * kChunkBytes) + page - 1) / page * page;
    if (it == chunks_.end() || need_lo > it->second.end || need_hi < it->second.begin) return false;
  }
  if (!ensure(p, n)) return false;
  return registered(p, n);
}

Status HostRegistration::register_pieces(uint64_t lo, uint64_t hi, Chunk& chunk) {
  const size_t n_before = chunk.pieces.size();
  auto undo = [&] {
    for (size_t k = n_before; k < chunk.pieces.size(); ++k) cudaHostUnregister(base_ + chunk.pieces[k].lo);
    chunk.pieces.resize(n_before);
  };
  const auto started = std::chrono::steady_clock::now();
  // Split [lo, hi) at the read-only ranges.
  uint64_t at = lo;
  auto ro = read_only_.upper_bound(lo);
  if (ro != read_only_.begin() && std::prev(ro)->second > lo) --ro;
  while (at < hi) {
    uint64_t next = hi;
    bool read_only = false;
    if (ro != read_only_.end() && ro->first <= at) {
      read_only = true;
      next = std::min(hi, ro->second);
      ++ro;
    } else if (ro != read_only_.end()) {
      next = std::min(hi, ro->first);
    }
    const unsigned flags = cudaHostRegisterMapped | (read_only ? cudaHostRegisterReadOnly : 0u);
    cudaError_t e = cudaHostRegister(base_ + at, next - at, flags);
    void* device = nullptr;
    if (e == cudaSuccess) e = cudaHostGetDevicePointer(&device, base_ + at, 0);
    if (e == cudaSuccess && device != base_ + at) {
      cudaHostUnregister(base_ + at);
      undo();
      return err("cuda::register", "the device address of registered guest memory differs from its host address");
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      undo();
      return cuda_status(e, "cuda::register",
                         ("cudaHostRegister of guest bytes [" + std::to_string(at) + ", " + std::to_string(next) + ")" +
                          (read_only ? " read-only" : ""))
                             .c_str());
    }
    chunk.pieces.push_back({at, next});
    registered_bytes_ += next - at;
    at = next;
  }
  register_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return Status::ok();
}

void HostRegistration::unregister_chunk(uint64_t index) {
  auto it = chunks_.find(index);
  if (it == chunks_.end()) return;
  for (const Piece& p : it->second.pieces) cudaHostUnregister(base_ + p.lo);
  cudaGetLastError();  // an unregister that fails leaves nothing to undo
  chunks_.erase(it);
  ++n_unregistered_;
}

void HostRegistration::unregister_range(uint64_t lo, uint64_t hi) {
  if (hi <= lo) return;
  for (uint64_t c = lo / kChunkBytes; c <= (hi - 1) / kChunkBytes; ++c) unregister_chunk(c);
}

void HostRegistration::unregister_all() {
  while (!chunks_.empty()) unregister_chunk(chunks_.begin()->first);
}

void HostRegistration::mark_read_only(uint64_t lo, uint64_t hi, bool read_only) {
  if (hi <= lo) return;
  // Cut the ranges that straddle lo or hi, drop those inside, then add.
  uint64_t new_lo = lo, new_hi = hi;
  auto it = read_only_.upper_bound(lo);
  if (it != read_only_.begin() && std::prev(it)->second >= lo) --it;
  while (it != read_only_.end() && it->first <= hi) {
    const uint64_t a = it->first, b = it->second;
    it = read_only_.erase(it);
    if (read_only) {
      new_lo = std::min(new_lo, a);
      new_hi = std::max(new_hi, b);
    } else {
      if (a < lo) read_only_[a] = lo;
      if (b > hi) read_only_[hi] = b;
    }
  }
  if (read_only) read_only_[new_lo] = new_hi;
}

void HostRegistration::on_event(const MemoryEvent& e) {
  const uint64_t lo = e.offset, hi = e.offset + e.n_bytes;
  switch (e.kind) {
    case MemoryEventKind::MemoryEvent_grow:
      committed_ = std::max(committed_, hi);
      break;
    case MemoryEventKind::MemoryEvent_file_map:  // before the pages are replaced
      unregister_range(lo, hi);
      mark_read_only(lo, hi, true);
      break;
    case MemoryEventKind::MemoryEvent_file_unmap:  // before: zeroed writable pages replace them
      unregister_range(lo, hi);
      mark_read_only(lo, hi, false);
      break;
    case MemoryEventKind::MemoryEvent_protect:
      // Pinned pages stay pinned when they become read-only: registrations
      // stand; chunks registered later take these pages read-only.
      mark_read_only(lo, hi, true);
      break;
    case MemoryEventKind::MemoryEvent_unprotect:
      // A read-only registration would fault a kernel that writes the pages now.
      mark_read_only(lo, hi, false);
      unregister_range(lo, hi);
      break;
    case MemoryEventKind::MemoryEvent_release:
      unregister_all();
      read_only_.clear();
      committed_ = 0;
      base_ = nullptr;
      break;
  }
}

}  // namespace samepage::cuda
