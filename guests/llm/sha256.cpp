#include "sha256.h"

namespace llm {

std::string sha256_hex(const uint8_t* data, size_t n_bytes) {
  Sha256 s;
  s.update(data, n_bytes);
  return s.finish_hex();
}

}  // namespace llm
