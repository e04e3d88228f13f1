// Text <-> token ids from a GGUF's tokenizer.ggml.* metadata: byte-level BPE
// ("gpt2": GPT-2, SmolLM, Llama 3, Qwen2 pre-tokenizers) and SentencePiece-
// style BPE over scores ("llama": Llama 2, TinyLlama). Owns copies of the
// vocabulary, so the GGUF buffer may go away after from_gguf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf.h"
#include "pretokenize.h"
#include "status.h"

namespace llm {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum TokenType : int32_t {
  TokenType_normal = 1,
  TokenType_unknown = 2,
  TokenType_control = 3,
  TokenType_user_defined = 4,
  TokenType_unused = 5,
  TokenType_byte = 6,
};

class Tokenizer {
 public:
  // From tokenizer.ggml.* metadata (model "gpt2" = byte-level BPE with the pre-tokenizer named by
  // tokenizer.ggml.pre; model "llama" = SentencePiece-style BPE over scores). Unsupported → error naming it.
  static Result<Tokenizer> from_gguf(const GgufFile& gguf);
  // Token ids of text. parse_special: special/control tokens written in the text (e.g. "<|im_start|>")
  // become their ids. Never adds BOS itself. User-defined tokens (type 4) are always matched.
  std::vector<int32_t> encode(std::string_view text, bool parse_special) const;
  // The bytes one token stands for (byte-level tokens decoded to raw bytes; may be partial UTF-8;
  // control tokens give their text only when render_special). Out-of-range ids give "".
  std::string decode_token(int32_t id, bool render_special = false) const;
  // The concatenated bytes of ids.
  std::string decode(const std::vector<int32_t>& ids, bool render_special = false) const;
  int32_t bos_id() const { return bos_id_; }  // -1 when none
  int32_t eos_id() const { return eos_id_; }
  bool add_bos() const { return add_bos_; }     // tokenizer.ggml.add_bos_token (family default when absent)
  bool is_end_of_generation(int32_t id) const;  // eos, eot, <|im_end|>, <|eot_id|>, <|end_of_text|>...
  size_t vocab_size() const { return tokens_.size(); }

  // The token's text as stored in the vocabulary (byte-level tokens in their
  // mapped form); "" when out of range. -1 from find_token when absent.
  std::string_view token_text(int32_t id) const;
  int32_t token_type(int32_t id) const;
  int32_t find_token(std::string_view text) const;

 private:
  enum Model : uint8_t { Model_bpe, Model_spm };
  struct Merge {
    int32_t rank;    // position in tokenizer.ggml.merges: lower merges first
    int32_t result;  // id of left+right
  };

  Status load_vocab(const GgufFile& gguf);
  Status load_merges(const GgufFile& gguf);
  Status load_special_ids(const GgufFile& gguf);
  void index_specials();
  // Appends the ids of text with no special-token matching.
  void encode_fragment(std::string_view text, bool first_fragment, std::vector<int32_t>& out) const;
  void encode_bpe_piece(std::string_view bytes, std::vector<int32_t>& out) const;
  void encode_spm(std::string_view text, bool add_prefix, std::vector<int32_t>& out) const;
  const Merge* find_merge(int32_t left, int32_t right) const;

  Model model_ = Model_bpe;
  PreTokenizer pre_ = PreTokenizer_gpt2;
  bool ignore_merges_ = false;     // Llama 3: a piece that is a whole token is not merged
  bool add_space_prefix_ = false;  // SPM: a "▁" before the text and after each special token
  bool add_bos_ = false;
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
  int32_t unk_id_ = -1;
  std::vector<std::string> tokens_;       // (n_vocab) text as stored
  std::vector<std::string> pieces_;       // (n_vocab) bytes each token decodes to
  std::vector<int32_t> types_;            // (n_vocab) TokenType
  std::vector<float> scores_;             // (n_vocab) SPM merge priority; 0 when absent
  std::vector<uint8_t> end_of_gen_;       // (n_vocab) 1 for tokens that end a turn
  std::unordered_map<std::string, int32_t> token_ids_;  // text -> id (first id wins)
  std::unordered_map<uint64_t, Merge> merges_;          // left << 32 | right -> merge
  int32_t byte_ids_[256];                 // BPE: token of each byte's mapped char; SPM: <0xNN>; -1 none
  // Special tokens matched in text, by first byte, longest first: (control?, id).
  std::vector<int32_t> specials_by_byte_[256];
};

}  // namespace llm
