// A host memcpy spread over threads: filling a pinned staging buffer from
// page-cache pages (a mapped GGUF) runs at one core's copy rate otherwise,
// the bound of the driver's own pageable upload. No CUDA here: plain C++.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace samepage::cuda {

// Threads for a copy: half the hardware threads (the other half stays with
// the guest and the driver), 1 to 8, fewer for small copies (1 MiB a thread
// at least: a thread's start costs about what copying 200 KiB does, an
// estimate, not measured).
inline unsigned copy_threads(uint64_t n_bytes) {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency() / 2);
  const uint64_t by_size = std::max<uint64_t>(1, n_bytes >> 20);
  return unsigned(std::min<uint64_t>({hw, 8, by_size}));
}

// dst[0, n) = src[0, n), in n_threads contiguous parts (64-byte aligned cuts),
// the caller copying the first. The ranges must not overlap.
inline void parallel_copy(void* dst, const void* src, uint64_t n_bytes, unsigned n_threads) {
  n_threads = std::max(1u, n_threads);
  const uint64_t part = ((n_bytes + n_threads - 1) / n_threads + 63) / 64 * 64;  // ceil: the parts cover n_bytes
  auto copy_part = [&](unsigned k) {
    const uint64_t lo = std::min(n_bytes, uint64_t(k) * part), hi = std::min(n_bytes, lo + part);
    if (hi > lo) std::memcpy(static_cast<uint8_t*>(dst) + lo, static_cast<const uint8_t*>(src) + lo, hi - lo);
  };
  std::vector<std::thread> workers;
  workers.reserve(n_threads - 1);
  for (unsigned k = 1; k < n_threads; ++k) workers.emplace_back(copy_part, k);
  copy_part(0);
  for (std::thread& t : workers) t.join();
}

}  // namespace samepage::cuda
