// A working byte-level BPE vocabulary of any size, in the layout of
// SmolLM2's GGUF (tokenizer.ggml.model "gpt2", pre "smollm"): control tokens
// first, then the 256 byte tokens spelled with GPT-2's byte-to-unicode map,
// then one token per merge. Every merged token is the concatenation of two
// earlier tokens, so a BPE tokenizer reaches each of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace synth {

// ids of the control tokens, which come first as in SmolLM2.
constexpr uint32_t kTokenEndOfText = 0;  // <|endoftext|>: unknown token
constexpr uint32_t kTokenImStart = 1;    // <|im_start|>: bos, as in SmolLM2
constexpr uint32_t kTokenImEnd = 2;      // <|im_end|>: eos and padding
constexpr uint32_t kNumControlTokens = 3;
constexpr int32_t kTokenTypeNormal = 1;   // llama.cpp token types
constexpr int32_t kTokenTypeControl = 3;

struct Vocab {
  std::vector<std::string> tokens;   // (n_vocab) UTF-8 text of each token
  std::vector<int32_t> token_types;  // (n_vocab) kTokenType*
  std::vector<std::string> merges;   // (n_vocab - 259) "left right", in rank order
};

// The UTF-8 spelling of byte b in GPT-2's byte-level alphabet.
std::string byte_token(uint8_t b);

// n_vocab >= 259; the merges follow deterministically from seed.
Vocab make_vocab(uint32_t n_vocab, uint64_t seed);

// ChatML, the template SmolLM2's file carries.
extern const char kChatMlTemplate[];

}  // namespace synth
