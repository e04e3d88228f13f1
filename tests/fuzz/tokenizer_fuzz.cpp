// libFuzzer entry for the LLM guest's tokenizer: arbitrary bytes (invalid
// UTF-8 included) through every pre-tokenizer and the SPM path, with and
// without special-token parsing. Never a crash; every id in range; decoding
// the ids never crashes and, byte-level, gives back exactly the input bytes
// that the vocabulary can spell (here all 256).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "byte_unicode.h"
#include "gguf_kv_builder.h"
#include "tokenizer.h"
#include "unicode.h"

namespace {

struct Loaded {
  std::vector<uint8_t> bytes;  // the GGUF, alive while parsed views are in use
  llm::Tokenizer tok;
};

// A byte-level vocabulary: the 256 byte chars, a few merges, specials.
Loaded bpe(const std::string& pre) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    llm::utf8_append(llm::byte_to_unicode(static_cast<uint8_t>(b)), s);
    tokens.push_back(s);
  }
  std::vector<int32_t> types(256, 1);
  for (auto [text, type] : {std::pair<std::string, int32_t>{"th", 1}, {"the", 1}, {"\xC4\xA0the", 1},
                            {"<|im_start|>", 3}, {"<|im_end|>", 3}, {"<u>", 4}}) {
    tokens.push_back(text);
    types.push_back(type);
  }
  samepage::test::GgufKvBuilder b;
  b.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.pre", pre).strs("tokenizer.ggml.tokens", tokens);
  b.i32s("tokenizer.ggml.token_type", types).strs("tokenizer.ggml.merges", {"t h", "th e", "\xC4\xA0 the"});
  Loaded out{b.bytes(), {}};
  auto gguf = llm::GgufFile::parse(out.bytes.data(), out.bytes.size());
  if (!gguf.is_ok()) std::abort();
  auto tok = llm::Tokenizer::from_gguf(gguf.value());
  if (!tok.is_ok()) std::abort();
  out.tok = tok.value();
  return out;
}

Loaded spm() {
  samepage::test::GgufKvBuilder b;
  b.str("tokenizer.ggml.model", "llama")
      .strs("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "<0xC3>", "\xE2\x96\x81", "a", "\xE2\x96\x81" "a", "ab", "b"})
      .i32s("tokenizer.ggml.token_type", {2, 3, 3, 6, 1, 1, 1, 1, 1})
      .f32s("tokenizer.ggml.scores", {0, 0, 0, 0, -1, -1, -2, -3, -1});
  Loaded out{b.bytes(), {}};
  auto gguf = llm::GgufFile::parse(out.bytes.data(), out.bytes.size());
  if (!gguf.is_ok()) std::abort();
  auto tok = llm::Tokenizer::from_gguf(gguf.value());
  if (!tok.is_ok()) std::abort();
  out.tok = tok.value();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Loaded>* all = new std::vector<Loaded>{bpe("gpt2"), bpe("smollm"), bpe("llama-bpe"),
                                                                 bpe("qwen2"), spm()};
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (size_t k = 0; k < all->size(); ++k) {
    const llm::Tokenizer& tok = (*all)[k].tok;
    for (bool parse_special : {false, true}) {
      std::vector<int32_t> ids = tok.encode(text, parse_special);
      for (int32_t id : ids) {
        if (id < 0 || static_cast<size_t>(id) >= tok.vocab_size()) std::abort();
      }
      std::string back = tok.decode(ids, true);
      bool byte_level = k < 4;
      if (byte_level && back != text) std::abort();  // every byte has a token here
    }
  }
  return 0;
}
