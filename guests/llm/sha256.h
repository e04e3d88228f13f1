// SHA-256 (FIPS 180-4), for the content hash a session file records of its
// model. Plain C++, no state beyond the running digest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace llm {

class Sha256 {
 public:
  Sha256();
  void update(const uint8_t* data, size_t n_bytes);
  std::string hex_digest();  // 64 lowercase hex digits; the object is spent after this

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;     // bytes in buffer_
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const uint8_t* data, size_t n_bytes);

}  // namespace llm
