// Tokens end mid-character (byte-level BPE splits emoji and CJK): hold the
// bytes of an incomplete UTF-8 sequence back until it is complete, so a
// streamed terminal never shows half a character.
#pragma once

#include <string>
#include <string_view>

namespace llm {

class Utf8Stream {
 public:
  // Appends bytes; returns the complete characters so far.
  std::string push(std::string_view bytes) {
    pending_.append(bytes);
    const size_t keep = incomplete_tail(pending_);
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
  }
  // Whatever is left (an invalid tail is passed through as it is).
  std::string flush() {
    std::string out;
    out.swap(pending_);
    return out;
  }

 private:
  // Bytes at the end that begin a multi-byte sequence not yet complete.
  static size_t incomplete_tail(const std::string& s) {
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
      const unsigned char c = static_cast<unsigned char>(s[n - back]);
      if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
      const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      return need > back ? back : 0;
    }
    return 0;
  }
  std::string pending_;  // an incomplete sequence, at most 3 bytes
};

}  // namespace llm
