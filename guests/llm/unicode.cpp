#include "unicode.h"

#include <string>

namespace llm {
namespace {

#include "unicode_ranges.inc"

template <size_t N>
bool in_ranges(const UnicodeRange (&table)[N], uint32_t cp) {
  size_t lo = 0, hi = N;  // binary search for the last range with lo <= cp
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (table[mid].lo <= cp) lo = mid + 1; else hi = mid;
  }
  return lo > 0 && cp <= table[lo - 1].hi;
}

// ASCII classes precomputed: most text is ASCII and this keeps it off the searches.
struct AsciiClasses {
  CharClass cls[128];
  constexpr AsciiClasses() : cls() {
    for (uint32_t c = 0; c < 128; ++c) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) cls[c] = CharClass_letter;
      else if (c >= '0' && c <= '9') cls[c] = CharClass_number;
      else if ((c >= 0x09 && c <= 0x0D) || c == ' ') cls[c] = CharClass_space;
      else cls[c] = CharClass_other;
    }
  }
};
constexpr AsciiClasses kAscii;

}  // namespace

CharClass unicode_class(uint32_t cp) {
  if (cp < 128) return kAscii.cls[cp];
  if (cp >= kInvalidUtf8Base) return CharClass_other;
  if (in_ranges(kUnicodeLetter, cp)) return CharClass_letter;
  if (in_ranges(kUnicodeNumber, cp)) return CharClass_number;
  if (in_ranges(kUnicodeSpace, cp)) return CharClass_space;
  return CharClass_other;
}

uint32_t utf8_sequence_length(std::string_view text, size_t pos, uint32_t* cp) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t left = text.size() - pos;
  unsigned char b0 = s[pos];
  if (b0 < 0x80) { *cp = b0; return 1; }
  uint32_t n, value, min;
  if ((b0 & 0xE0) == 0xC0) { n = 2; value = b0 & 0x1F; min = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { n = 3; value = b0 & 0x0F; min = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { n = 4; value = b0 & 0x07; min = 0x10000; }
  else return 0;
  if (left < n) return 0;
  for (uint32_t i = 1; i < n; ++i) {
    unsigned char b = s[pos + i];
    if ((b & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past Unicode are not valid UTF-8.
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return n;
}

void utf8_decode(std::string_view text, std::vector<Utf8Char>& out) {
  out.clear();
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp = 0;
    uint32_t n = utf8_sequence_length(text, pos, &cp);
    if (n == 0) {
      cp = kInvalidUtf8Base + static_cast<unsigned char>(text[pos]);
      n = 1;
    }
    out.push_back(Utf8Char{cp, static_cast<uint32_t>(pos), n, unicode_class(cp)});
    pos += n;
  }
}

void utf8_append(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace llm
