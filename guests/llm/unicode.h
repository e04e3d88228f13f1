// UTF-8 decoding and the three Unicode classes the pre-tokenizer regexes use
// (\p{L}, \p{N}, \s), from generated range tables (unicode_ranges.inc).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace llm {

struct UnicodeRange {
  uint32_t lo;  // first code point, inclusive
  uint32_t hi;  // last code point, inclusive
};

enum CharClass : uint8_t {
  CharClass_letter,  // \p{L}
  CharClass_number,  // \p{N}
  CharClass_space,   // \s
  CharClass_other,   // anything else, including bytes that are not valid UTF-8
};

// One character of the input: a code point and the bytes it came from. A byte
// that does not start a valid UTF-8 sequence becomes one char of its own with
// cp = kInvalidUtf8Base + byte (outside Unicode) and class other, so every
// input byte lands in exactly one char and splitting never loses bytes.
struct Utf8Char {
  uint32_t cp;        // code point, or kInvalidUtf8Base + byte
  uint32_t offset;    // byte offset in the text
  uint32_t n_bytes;   // 1..4
  CharClass cls;      // class of cp
};
constexpr uint32_t kInvalidUtf8Base = 0x110000;

CharClass unicode_class(uint32_t cp);
// Length of the valid UTF-8 sequence at text[pos], or 0 when invalid/truncated.
uint32_t utf8_sequence_length(std::string_view text, size_t pos, uint32_t* cp);
// Appends the chars of text to out (cleared first).
void utf8_decode(std::string_view text, std::vector<Utf8Char>& out);
// Appends the UTF-8 encoding of cp (< 0x110000) to out.
void utf8_append(uint32_t cp, std::string& out);

}  // namespace llm
