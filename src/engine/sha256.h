// SHA-256 (FIPS 180-4), for content-addressed caching of compiled guests
// and snapshot checksums. Uses the x86 SHA extensions when the CPU has them
// (checked once): snapshots hash whole guest memories.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace samepage {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n_bytes);
  void update(const std::string& s) { update(s.data(), s.size()); }
  std::array<uint8_t, 32> finish();
  std::string finish_hex();

 private:
  void compress(const uint8_t* blocks, size_t n_blocks);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t n_buffered_ = 0;
  uint64_t n_total_bytes_ = 0;
};

}  // namespace samepage
