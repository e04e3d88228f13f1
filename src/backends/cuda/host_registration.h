// Guest memory made addressable by kernels (../shared/DESIGN.md §3): the H200 has no
// pageable-memory access, so a kernel reads guest bytes only once they are
// registered with cudaHostRegister (mapped; under unified addressing the
// device pointer is the host pointer, checked on every registration).
//
// Registration is lazy, per chunk: the guest's 4 GiB reservation is cut
// into kChunkBytes pieces aligned to its base, and a chunk registers one
// run of whole host pages, the span of what ops have touched in it: the
// first op's bytes, then, when an op reaches past the run, the pages
// between the run and its bytes beside it (never unregistered: a captured
// graph naming those pages stays valid). Pinning faults pages in, so a
// chunk pins no page beyond the span that ops use: the guest's untouched
// pages (its stack's unused depth, a heap's slack) stay unbacked. Read-only pages (file mappings, write-
// protected const views) are registered with cudaHostRegisterReadOnly, the
// rest read-write, so a chunk may be several registrations. Memory events
// keep it true: a chunk whose pages are about to be replaced (file map or
// unmap) or made writable again is unregistered, to be registered afresh
// when next touched; release unregisters everything.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "samepage/linear_memory.h"
#include "samepage/status.h"

namespace samepage::cuda {

class HostRegistration {
 public:
  static constexpr uint64_t kChunkBytes = uint64_t{64} << 20;

  HostRegistration() = default;
  ~HostRegistration() { unregister_all(); }
  HostRegistration(const HostRegistration&) = delete;
  HostRegistration& operator=(const HostRegistration&) = delete;

  // The guest memory's base (use_host_memory); nothing is registered yet.
  void attach(uint8_t* base, uint64_t reserved_bytes);
  // True when [p, p + n) lies in the attached guest memory's committed range.
  bool contains(const void* p, uint64_t n) const;
  // True when every byte of [p, p + n) is registered now (a DMA from it
  // runs at the pinned rate).
  bool registered(const void* p, uint64_t n) const;
  // Makes [p, p + n) (inside the committed range) addressable by kernels.
  Status ensure(const void* p, uint64_t n);
  // ensure, where in every chunk [p, p + n) touches the bytes touch or
  // overlap its registered run (they then join it, no gap pinned); else
  // nothing: true when registered now.
  bool extend(const void* p, uint64_t n);
  // Called with every memory event; the caller has finished all GPU work
  // that may touch the pages (events arrive between host calls).
  void on_event(const MemoryEvent& event);
  // Counts the chunks unregistered so far: a CUDA graph captured at one
  // count may name pages that are no longer registered at another (growth
  // alone leaves it as it is).
  uint64_t n_unregistered() const { return n_unregistered_; }
  // What registering has cost: cudaHostRegister calls' seconds and bytes.
  double register_seconds() const { return register_seconds_; }
  uint64_t registered_bytes() const { return registered_bytes_; }

  // [p, p + n) cut where a registration begins or ends: the CUDA runtime
  // refuses a copy whose host range is partly registered, or spans two
  // registrations (cudaErrorInvalidValue). Calls f(offset into the range,
  // bytes) for each piece, in order; bytes outside guest memory come whole.
  template <typename F>
  void for_each_segment(const void* p, uint64_t n, F f) const {
    const auto* b = static_cast<const uint8_t*>(p);
    if (base_ == nullptr || b < base_ || uint64_t(b - base_) >= reserved_) return void(f(uint64_t{0}, n));
    const uint64_t lo = uint64_t(b - base_), hi = lo + n;
    uint64_t at = lo;
    while (at < hi) {
      uint64_t next = std::min(hi, (at / kChunkBytes + 1) * kChunkBytes);
      auto c = chunks_.find(at / kChunkBytes);
      if (c != chunks_.end())
        for (const Piece& piece : c->second.pieces) {
          if (piece.lo > at && piece.lo < next) next = piece.lo;
          if (piece.hi > at && piece.hi < next) next = piece.hi;
        }
      f(at - lo, next - at);
      at = next;
    }
  }

 private:
  struct Piece {
    uint64_t lo, hi;  // guest offsets
  };
  struct Chunk {
    uint64_t begin = 0, end = 0;  // the registered run: guest offsets [begin, end)
    std::vector<Piece> pieces;
  };
  // Registers guest offsets [lo, hi), cut at read-only ranges, adding the
  // pieces to chunk; on failure unregisters what this call added.
  Status register_pieces(uint64_t lo, uint64_t hi, Chunk& chunk);
  void unregister_chunk(uint64_t index);
  void unregister_range(uint64_t lo, uint64_t hi);
  void unregister_all();
  // Read-only page ranges, [lo, hi) by lo: disjoint.
  void mark_read_only(uint64_t lo, uint64_t hi, bool read_only);

  uint8_t* base_ = nullptr;
  uint64_t reserved_ = 0;
  uint64_t committed_ = 0;
  std::map<uint64_t, uint64_t> read_only_;
  std::map<uint64_t, Chunk> chunks_;  // by chunk index
  uint64_t n_unregistered_ = 0;
  double register_seconds_ = 0;
  uint64_t registered_bytes_ = 0;
};

}  // namespace samepage::cuda
