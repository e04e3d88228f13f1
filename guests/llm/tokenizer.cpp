// Loading the vocabulary from GGUF metadata, special tokens and decoding.
// The encoders themselves are in tokenizer_encode.cpp.
#include "tokenizer.h"

#include <algorithm>

#include "byte_unicode.h"

namespace llm {
namespace {

Status error(std::string message) { return Status::error("[tokenizer] " + std::move(message)); }

// Texts that end a turn in the families we know, when they are special tokens.
constexpr std::string_view kEndOfGeneration[] = {
    "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "<|eom_id|>",
    "<|end|>",    "<end_of_turn>", "</s>",
};

// Decodes the SPM byte token text "<0xNN>" to NN, or -1.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (char ch : text.substr(3, 2)) {
    int digit = (ch >= '0' && ch <= '9') ? ch - '0'
              : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
              : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// An optional u32 token id key: -1 when absent, an error when present but not a valid id.
Status optional_id(const GgufFile& gguf, std::string_view key, size_t n_vocab, int32_t* out) {
  *out = -1;
  if (gguf.find(key) == nullptr) return Status::ok();
  auto id = gguf.get_u32(key);
  if (!id.is_ok()) return error(id.message());
  if (id.value() >= n_vocab)
    return error(std::string(key) + " = " + std::to_string(id.value()) + " is out of range (vocabulary of " +
                 std::to_string(n_vocab) + ")");
  *out = static_cast<int32_t>(id.value());
  return Status::ok();
}

Status optional_bool(const GgufFile& gguf, std::string_view key, bool* out) {
  if (gguf.find(key) == nullptr) return Status::ok();
  auto value = gguf.get_bool(key);
  if (!value.is_ok()) return error(value.message());
  *out = value.value();
  return Status::ok();
}

}  // namespace

Result<Tokenizer> Tokenizer::from_gguf(const GgufFile& gguf) {
  Tokenizer t;
  auto model = gguf.get_string("tokenizer.ggml.model");
  if (!model.is_ok()) return error(model.message());
  if (model.value() == "gpt2") {
    t.model_ = Model_bpe;
    auto pre = gguf.get_string("tokenizer.ggml.pre");
    if (!pre.is_ok()) return error(pre.message());
    std::string_view name = pre.value();
    if (name == "gpt2") {
      t.pre_ = PreTokenizer_gpt2;
    } else if (name == "smollm") {
      t.pre_ = PreTokenizer_smollm;
    } else if (name == "llama-bpe" || name == "llama3" || name == "llama-v3") {
      t.pre_ = PreTokenizer_llama3;
      t.ignore_merges_ = true;  // as Llama 3's tokenizer.json ("ignore_merges": true)
      t.add_bos_ = true;
    } else if (name == "qwen2") {
      t.pre_ = PreTokenizer_qwen2;
    } else {
      return error("unsupported pre-tokenizer tokenizer.ggml.pre = \"" + std::string(name) +
                   "\" (supported: gpt2, smollm, llama-bpe, qwen2)");
    }
  } else if (model.value() == "llama") {
    t.model_ = Model_spm;
    t.add_bos_ = true;
    t.add_space_prefix_ = true;
  } else {
    return error("unsupported tokenizer model tokenizer.ggml.model = \"" + std::string(model.value()) +
                 "\" (supported: gpt2, llama)");
  }
  if (Status s = t.load_vocab(gguf); !s.is_ok()) return s;
  if (t.model_ == Model_bpe) {
    if (Status s = t.load_merges(gguf); !s.is_ok()) return s;
  }
  if (Status s = t.load_special_ids(gguf); !s.is_ok()) return s;
  if (Status s = optional_bool(gguf, "tokenizer.ggml.add_bos_token", &t.add_bos_); !s.is_ok()) return s;
  if (t.model_ == Model_spm) {
    if (Status s = optional_bool(gguf, "tokenizer.ggml.add_space_prefix", &t.add_space_prefix_); !s.is_ok())
      return s;
  }
  t.index_specials();
  return t;
}

Status Tokenizer::load_vocab(const GgufFile& gguf) {
  auto tokens = gguf.get_array("tokenizer.ggml.tokens", GGUF_TYPE_STRING);
  if (!tokens.is_ok()) return error(tokens.message());
  uint64_t n = tokens.value()->n_elems;
  if (n == 0 || n > (1u << 24)) return error("tokenizer.ggml.tokens has " + std::to_string(n) + " tokens (want 1..2^24)");
  types_.assign(n, TokenType_normal);
  scores_.assign(n, 0.0f);
  if (gguf.find("tokenizer.ggml.token_type") != nullptr) {
    auto types = gguf.get_array("tokenizer.ggml.token_type", GGUF_TYPE_INT32);
    if (!types.is_ok()) return error(types.message());
    if (types.value()->n_elems != n) return error("tokenizer.ggml.token_type has " + std::to_string(types.value()->n_elems) + " entries for " + std::to_string(n) + " tokens");
    for (uint64_t i = 0; i < n; ++i) types_[i] = types.value()->scalar_at<int32_t>(i);
  }
  if (gguf.find("tokenizer.ggml.scores") != nullptr) {
    auto scores = gguf.get_array("tokenizer.ggml.scores", GGUF_TYPE_FLOAT32);
    if (!scores.is_ok()) return error(scores.message());
    if (scores.value()->n_elems != n) return error("tokenizer.ggml.scores has " + std::to_string(scores.value()->n_elems) + " entries for " + std::to_string(n) + " tokens");
    for (uint64_t i = 0; i < n; ++i) scores_[i] = scores.value()->scalar_at<float>(i);
  }
  tokens_.resize(n);
  pieces_.resize(n);
  token_ids_.reserve(n);
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  for (uint64_t i = 0; i < n; ++i) {
    auto id = static_cast<int32_t>(i);
    tokens_[i] = std::string(tokens.value()->string_at(i));
    token_ids_.emplace(tokens_[i], id);
    const std::string& text = tokens_[i];
    int32_t type = types_[i];
    if (type == TokenType_control || type == TokenType_user_defined || type == TokenType_unknown) {
      pieces_[i] = text;  // special tokens stand for their text as written
    } else if (model_ == Model_bpe) {
      pieces_[i] = byte_level_decode(text);
    } else if (int byte = parse_byte_token(text); type == TokenType_byte && byte >= 0) {
      pieces_[i] = std::string(1, static_cast<char>(byte));
      if (byte_ids_[byte] < 0) byte_ids_[byte] = id;
    } else {
      pieces_[i] = spm_piece_to_text(text);  // "▁" stands for a space
    }
  }
  if (model_ == Model_bpe) {
    for (int b = 0; b < 256; ++b) {
      std::string mapped;
      utf8_append(byte_to_unicode(static_cast<uint8_t>(b)), mapped);
      byte_ids_[b] = find_token(mapped);
    }
  }
  return Status::ok();
}

Status Tokenizer::load_merges(const GgufFile& gguf) {
  auto merges = gguf.get_array("tokenizer.ggml.merges", GGUF_TYPE_STRING);
  if (!merges.is_ok()) return error(merges.message());
  uint64_t n = merges.value()->n_elems;
  merges_.reserve(n);
  std::string joined;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view line = merges.value()->string_at(i);
    size_t space = line.find(' ');
    auto bad = [&](const std::string& why) {
      return error("tokenizer.ggml.merges[" + std::to_string(i) + "] = \"" + std::string(line.substr(0, 64)) + "\": " + why);
    };
    if (space == std::string_view::npos || space == 0 || space + 1 >= line.size() ||
        line.find(' ', space + 1) != std::string_view::npos)
      return bad("not two tokens separated by one space");
    std::string_view left = line.substr(0, space), right = line.substr(space + 1);
    int32_t left_id = find_token(left), right_id = find_token(right);
    joined.assign(left).append(right);
    int32_t result = find_token(joined);
    if (left_id < 0 || right_id < 0 || result < 0) return bad("a part or the merged token is not in the vocabulary");
    uint64_t key = (static_cast<uint64_t>(left_id) << 32) | static_cast<uint32_t>(right_id);
    merges_.emplace(key, Merge{static_cast<int32_t>(i), result});  // a repeated pair keeps its first rank
  }
  return Status::ok();
}

Status Tokenizer::load_special_ids(const GgufFile& gguf) {
  size_t n = tokens_.size();
  int32_t eot = -1, eom = -1;
  for (auto [key, out] : {std::pair{"tokenizer.ggml.bos_token_id", &bos_id_},
                          std::pair{"tokenizer.ggml.eos_token_id", &eos_id_},
                          std::pair{"tokenizer.ggml.unknown_token_id", &unk_id_},
                          std::pair{"tokenizer.ggml.eot_token_id", &eot},
                          std::pair{"tokenizer.ggml.eom_token_id", &eom}}) {
    if (Status s = optional_id(gguf, key, n, out); !s.is_ok()) return s;
  }
  if (unk_id_ < 0 && model_ == Model_spm) unk_id_ = find_token("<unk>");
  end_of_gen_.assign(n, 0);
  for (int32_t id : {eos_id_, eot, eom}) {
    if (id >= 0) end_of_gen_[id] = 1;
  }
  for (std::string_view text : kEndOfGeneration) {
    int32_t id = find_token(text);
    if (id >= 0 && (types_[id] == TokenType_control || types_[id] == TokenType_user_defined)) end_of_gen_[id] = 1;
  }
  return Status::ok();
}

void Tokenizer::index_specials() {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].empty()) continue;
    if (types_[i] != TokenType_control && types_[i] != TokenType_user_defined) continue;
    specials_by_byte_[static_cast<uint8_t>(tokens_[i][0])].push_back(static_cast<int32_t>(i));
  }
  for (auto& bucket : specials_by_byte_) {
    // Longest first, so the scan takes the longest match; then by id for a stable order.
    std::sort(bucket.begin(), bucket.end(), [this](int32_t a, int32_t b) {
      if (tokens_[a].size() != tokens_[b].size()) return tokens_[a].size() > tokens_[b].size();
      return a < b;
    });
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  std::vector<int32_t> out;
  size_t fragment_start = 0;
  bool first_fragment = true;  // SPM: the dummy space prefix goes at the start and after each special
  for (size_t pos = 0; pos < text.size();) {
    int32_t hit = -1;
    for (int32_t id : specials_by_byte_[static_cast<uint8_t>(text[pos])]) {
      if (!parse_special && types_[id] == TokenType_control) continue;
      if (text.compare(pos, tokens_[id].size(), tokens_[id]) == 0) { hit = id; break; }
    }
    if (hit < 0) { ++pos; continue; }
    if (pos > fragment_start) encode_fragment(text.substr(fragment_start, pos - fragment_start), first_fragment, out);
    out.push_back(hit);
    first_fragment = true;
    pos += tokens_[hit].size();
    fragment_start = pos;
  }
  if (fragment_start < text.size()) encode_fragment(text.substr(fragment_start), first_fragment, out);
  return out;
}

std::string Tokenizer::decode_token(int32_t id, bool render_special) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return {};
  if (types_[id] == TokenType_control && !render_special) return {};
  return pieces_[id];
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) out += decode_token(id, render_special);
  return out;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < end_of_gen_.size() && end_of_gen_[id] != 0;
}

std::string_view Tokenizer::token_text(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return {};
  return tokens_[id];
}

int32_t Tokenizer::token_type(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= types_.size()) return -1;
  return types_[id];
}

int32_t Tokenizer::find_token(std::string_view text) const {
  auto it = token_ids_.find(std::string(text));
  return it == token_ids_.end() ? -1 : it->second;
}

}  // namespace llm
