#include "byte_unicode.h"

#include "unicode.h"

namespace llm {
namespace {

constexpr bool maps_to_itself(uint32_t b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteTables {
  uint32_t to_cp[256];
  int16_t from_cp[324];  // mapped code points all lie below 0x100 + 68
  constexpr ByteTables() : to_cp(), from_cp() {
    for (int16_t& v : from_cp) v = -1;
    uint32_t next = 0x100;
    for (uint32_t b = 0; b < 256; ++b) {
      to_cp[b] = maps_to_itself(b) ? b : next++;
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};
constexpr ByteTables kTables;

}  // namespace

uint32_t byte_to_unicode(uint8_t byte) { return kTables.to_cp[byte]; }

int unicode_to_byte(uint32_t cp) { return cp < 324 ? kTables.from_cp[cp] : -1; }

void byte_level_encode(std::string_view bytes, std::string& out) {
  for (char ch : bytes) utf8_append(byte_to_unicode(static_cast<uint8_t>(ch)), out);
}

std::string byte_level_decode(std::string_view mapped) {
  std::string out;
  out.reserve(mapped.size());
  size_t pos = 0;
  while (pos < mapped.size()) {
    uint32_t cp = 0;
    uint32_t n = utf8_sequence_length(mapped, pos, &cp);
    int byte = n > 0 ? unicode_to_byte(cp) : -1;
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
    } else {
      if (n == 0) n = 1;
      out.append(mapped.substr(pos, n));
    }
    pos += n;
  }
  return out;
}

std::string spm_piece_to_text(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t pos = 0; pos < piece.size();) {
    if (piece.compare(pos, kSpmSpace.size(), kSpmSpace) == 0) {
      out.push_back(' ');
      pos += kSpmSpace.size();
    } else {
      out.push_back(piece[pos++]);
    }
  }
  return out;
}

}  // namespace llm
