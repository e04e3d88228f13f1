// GPT-2's reversible byte <-> Unicode mapping, under which byte-level BPE
// vocabularies are written (so "Ġ" is the space byte), and the SPM "▁".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace llm {

// Printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) map to
// themselves; the other 68 bytes map to U+0100.. in byte order.
uint32_t byte_to_unicode(uint8_t byte);
// The byte a mapped code point stands for, or -1 when it is not one.
int unicode_to_byte(uint32_t cp);
// Appends the mapped form of bytes (UTF-8 of each byte's code point).
void byte_level_encode(std::string_view bytes, std::string& out);
// Bytes of a mapped token; chars outside the mapping are kept as their UTF-8.
std::string byte_level_decode(std::string_view mapped);
// SPM token text with "▁" (U+2581) turned into spaces.
std::string spm_piece_to_text(std::string_view piece);
constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // "▁", U+2581

}  // namespace llm
