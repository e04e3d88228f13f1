// Pre-tokenizers of the byte-level BPE families: the splitting regexes of
// their tokenizer.json files, written out by hand over Unicode classes (no
// <regex>: the guest builds without exceptions and std::regex knows no \p{L}).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "unicode.h"

namespace llm {

enum PreTokenizer : uint8_t {
  // GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  PreTokenizer_gpt2,
  // SmolLM / StarCoder: every \p{N} char is a piece of its own, then GPT-2 on the rest.
  PreTokenizer_smollm,
  // Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
  //          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  PreTokenizer_llama3,
  // Qwen2: as Llama 3 but \p{N} one char at a time.
  PreTokenizer_qwen2,
};

// A piece: chars [begin, end) of the decoded text.
struct PrePiece {
  uint32_t begin;
  uint32_t end;
};

// Splits chars into consecutive pieces that cover all of them (pieces cleared first).
void pretokenize(PreTokenizer kind, const std::vector<Utf8Char>& chars, std::vector<PrePiece>& pieces);

}  // namespace llm
