// Tokenizer on small hand-built vocabularies: the SentencePiece path with
// hand-checked ids, special-token parsing, the pre-tokenizer splits, and every
// metadata error. The real SmolLM2 vocabulary is in tokenizer_reference_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "byte_unicode.h"
#include "gguf_kv_builder.h"
#include "pretokenize.h"
#include "tokenizer.h"
#include "unicode.h"

namespace {

using llm::GgufFile;
using llm::Tokenizer;
using samepage::test::GgufKvBuilder;
using Ids = std::vector<int32_t>;

// Parses b and builds a tokenizer; the bytes are kept alive by the caller.
llm::Result<Tokenizer> load(const std::vector<uint8_t>& bytes) {
  auto gguf = GgufFile::parse(bytes.data(), bytes.size());
  if (!gguf.is_ok()) return gguf.status();
  return Tokenizer::from_gguf(gguf.value());
}

// SPM: <unk> <s> </s>, byte tokens for "é" (C3 A9), and merges by score.
//   id:  0      1    2     3       4       5    6   7   8   9   10    11    12      13       14         15
const std::vector<std::string> kSpmTokens = {"<unk>", "<s>", "</s>", "<0xC3>", "<0xA9>", "\xE2\x96\x81",
                                             "h", "e", "l", "o", "he", "ll", "hell", "hello",
                                             "\xE2\x96\x81hello", "lo"};
const std::vector<int32_t> kSpmTypes = {2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
// Higher scores merge first: he (-1), ll (-2), then "lo" (-2.5) no longer has an
// adjacent "l o" pair, so hell (-3), hello (-4) and ▁hello (-5) follow.
const std::vector<float> kSpmScores = {0, 0, 0, 0, 0, -10, -10, -10, -10, -10, -1, -2, -3, -4, -5, -2.5f};

std::vector<uint8_t> spm_file(bool with_prefix_key = false, bool prefix = true) {
  GgufKvBuilder b;
  b.str("tokenizer.ggml.model", "llama").strs("tokenizer.ggml.tokens", kSpmTokens);
  b.i32s("tokenizer.ggml.token_type", kSpmTypes).f32s("tokenizer.ggml.scores", kSpmScores);
  b.u32("tokenizer.ggml.bos_token_id", 1).u32("tokenizer.ggml.eos_token_id", 2);
  b.u32("tokenizer.ggml.unknown_token_id", 0);
  if (with_prefix_key) b.boolean("tokenizer.ggml.add_space_prefix", prefix);
  return b.bytes();
}

TEST(TokenizerSpm, MergesByScoreWithDummyPrefix) {
  auto bytes = spm_file();
  auto t = load(bytes);
  ASSERT_TRUE(t.is_ok()) << t.message();
  const Tokenizer& tok = t.value();
  EXPECT_TRUE(tok.add_bos());  // the llama family default
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_TRUE(tok.is_end_of_generation(2));
  EXPECT_EQ(tok.vocab_size(), 16u);
  // ▁ h e l l o -> he, ll, hell, hello, ▁hello
  EXPECT_EQ(tok.encode("hello", false), (Ids{14}));
  EXPECT_EQ(tok.encode("hello hello", false), (Ids{14, 14}));
  // é is not a token: its bytes fall back to <0xC3> <0xA9>; "l l" still merges.
  EXPECT_EQ(tok.encode("h\xC3\xA9llo", false), (Ids{5, 6, 3, 4, 11, 9}));
  EXPECT_EQ(tok.encode("", false), Ids{});
  EXPECT_EQ(tok.decode_token(14), " hello");
  EXPECT_EQ(tok.decode_token(3), "\xC3");
  EXPECT_EQ(tok.decode(tok.encode("h\xC3\xA9llo", false)), " h\xC3\xA9llo");
}

TEST(TokenizerSpm, PrefixOffAndSpecials) {
  auto off_bytes = spm_file(true, false);
  auto off = load(off_bytes);
  ASSERT_TRUE(off.is_ok()) << off.message();
  EXPECT_EQ(off.value().encode("hello", false), (Ids{13}));
  auto bytes = spm_file();
  auto t = load(bytes);
  ASSERT_TRUE(t.is_ok()) << t.message();
  // The dummy prefix comes back after each special token, as llama.cpp does.
  EXPECT_EQ(t.value().encode("<s>hello</s>", true), (Ids{1, 14, 2}));
  // As text, < s > / are neither tokens nor bytes with tokens: <unk> each.
  EXPECT_EQ(t.value().encode("<s>hello</s>", false), (Ids{5, 0, 0, 0, 13, 0, 0, 0, 0}));
  EXPECT_EQ(t.value().decode_token(1), "");
  EXPECT_EQ(t.value().decode_token(1, true), "<s>");
}

// Byte-level: all 256 byte chars, two merges, overlapping specials and a user-defined token.
std::vector<uint8_t> bpe_file(const std::string& pre = "gpt2") {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    llm::utf8_append(llm::byte_to_unicode(static_cast<uint8_t>(b)), s);
    tokens.push_back(s);
  }
  std::vector<int32_t> types(256, 1);
  for (auto [text, type] : {std::pair<std::string, int32_t>{"ab", 1}, {"abc", 1}, {"<|a|>", 3}, {"<|a|>b", 3},
                            {"<u>", 4}, {"<|end|>", 3}}) {
    tokens.push_back(text);
    types.push_back(type);
  }
  GgufKvBuilder b;
  b.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.pre", pre).strs("tokenizer.ggml.tokens", tokens);
  b.i32s("tokenizer.ggml.token_type", types).strs("tokenizer.ggml.merges", {"a b", "ab c"});
  b.u32("tokenizer.ggml.eos_token_id", 261);
  return b.bytes();
}

TEST(TokenizerSpecial, LongestMatchAndUserDefined) {
  auto bytes = bpe_file();
  auto t = load(bytes);
  ASSERT_TRUE(t.is_ok()) << t.message();
  const Tokenizer& tok = t.value();
  EXPECT_FALSE(tok.add_bos());
  EXPECT_EQ(tok.bos_id(), -1);
  EXPECT_EQ(tok.encode("abc", false), (Ids{257}));
  EXPECT_EQ(tok.encode("abd", false), (Ids{256, 'd'}));
  // "<|a|>b" (259) wins over its prefix "<|a|>" (258); then the text continues.
  EXPECT_EQ(tok.encode("x<|a|>by", true), (Ids{'x', 259, 'y'}));
  EXPECT_EQ(tok.encode("<|a|><|a|>", true), (Ids{258, 258}));
  // Not parsed: the control text is split as words and punctuation.
  EXPECT_EQ(tok.encode("<|a|>", false), (Ids{'<', '|', 'a', '|', '>'}));
  // User-defined tokens are matched with or without parse_special, as llama.cpp does.
  EXPECT_EQ(tok.encode("<u>", false), (Ids{260}));
  EXPECT_EQ(tok.decode_token(260), "<u>");
  // Unfinished specials stay text.
  EXPECT_EQ(tok.encode("<|a", true), (Ids{'<', '|', 'a'}));
  EXPECT_TRUE(tok.is_end_of_generation(261));  // eos, and "<|end|>" by its text
  EXPECT_FALSE(tok.is_end_of_generation(258));
}

TEST(TokenizerUnicode, ClassesAndDecoding) {
  EXPECT_EQ(llm::unicode_class('a'), llm::CharClass_letter);
  EXPECT_EQ(llm::unicode_class(0x4E2D), llm::CharClass_letter);  // 中
  EXPECT_EQ(llm::unicode_class(0x0663), llm::CharClass_number);  // Arabic-Indic 3
  EXPECT_EQ(llm::unicode_class(0x00BD), llm::CharClass_number);  // ½ (No)
  EXPECT_EQ(llm::unicode_class(0x3000), llm::CharClass_space);
  EXPECT_EQ(llm::unicode_class(0x0085), llm::CharClass_space);
  EXPECT_EQ(llm::unicode_class(0x001C), llm::CharClass_other);   // not \s, though Python's isspace says so
  EXPECT_EQ(llm::unicode_class(0x0301), llm::CharClass_other);   // combining mark: not \p{L}
  EXPECT_EQ(llm::unicode_class(0x1F600), llm::CharClass_other);
  std::vector<llm::Utf8Char> chars;
  llm::utf8_decode("a\xC3\xA9\xFF\xE2\x82", chars);
  ASSERT_EQ(chars.size(), 5u);
  EXPECT_EQ(chars[1].cp, 0xE9u);
  EXPECT_EQ(chars[1].n_bytes, 2u);
  EXPECT_EQ(chars[2].cp, llm::kInvalidUtf8Base + 0xFF);
  EXPECT_EQ(chars[3].cp, llm::kInvalidUtf8Base + 0xE2);  // truncated sequence: bytes one at a time
  for (int b = 0; b < 256; ++b) EXPECT_EQ(llm::unicode_to_byte(llm::byte_to_unicode(static_cast<uint8_t>(b))), b);
  EXPECT_EQ(llm::byte_to_unicode(' '), 0x120u);  // "Ġ"
}

std::vector<std::string> split(llm::PreTokenizer kind, std::string_view text) {
  std::vector<llm::Utf8Char> chars;
  std::vector<llm::PrePiece> pieces;
  llm::utf8_decode(text, chars);
  llm::pretokenize(kind, chars, pieces);
  std::vector<std::string> out;
  for (const llm::PrePiece& p : pieces) {
    uint32_t b = chars[p.begin].offset, e = chars[p.end - 1].offset + chars[p.end - 1].n_bytes;
    out.emplace_back(text.substr(b, e - b));
  }
  return out;
}

TEST(TokenizerUnicode, PreTokenizerSplits) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split(llm::PreTokenizer_gpt2, "Hello world's  12345!!\n"),
            (V{"Hello", " world", "'s", " ", " 12345", "!!", "\n"}));
  EXPECT_EQ(split(llm::PreTokenizer_smollm, "ab 123"), (V{"ab", " ", "1", "2", "3"}));
  EXPECT_EQ(split(llm::PreTokenizer_llama3, "I'M 12345\n\n  x"), (V{"I", "'M", " ", "123", "45", "\n\n", " ", " x"}));
  EXPECT_EQ(split(llm::PreTokenizer_qwen2, "a12"), (V{"a", "1", "2"}));
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  auto t = load(bytes);
  ASSERT_FALSE(t.is_ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(t.message().find(fragment), std::string::npos) << t.message();
  EXPECT_EQ(t.message().rfind("[tokenizer] ", 0), 0u) << t.message();
}

TEST(TokenizerErrors, MetadataProblemsAreNamed) {
  const std::vector<std::string> tokens = {"a", "b", "ab"};
  auto base = [&](const std::string& model, const std::string& pre) {
    GgufKvBuilder b;
    b.str("tokenizer.ggml.model", model);
    if (!pre.empty()) b.str("tokenizer.ggml.pre", pre);
    b.strs("tokenizer.ggml.tokens", tokens);
    return b;
  };
  expect_error(GgufKvBuilder().strs("tokenizer.ggml.tokens", tokens).bytes(), "tokenizer.ggml.model");
  expect_error(base("bert", "").bytes(), "unsupported tokenizer model tokenizer.ggml.model = \"bert\"");
  expect_error(base("gpt2", "").strs("tokenizer.ggml.merges", {"a b"}).bytes(), "tokenizer.ggml.pre");
  expect_error(base("gpt2", "falcon").strs("tokenizer.ggml.merges", {"a b"}).bytes(),
               "unsupported pre-tokenizer tokenizer.ggml.pre = \"falcon\"");
  expect_error(base("gpt2", "gpt2").bytes(), "tokenizer.ggml.merges");
  expect_error(base("gpt2", "gpt2").strs("tokenizer.ggml.merges", {"a b", "ab"}).bytes(),
               "tokenizer.ggml.merges[1] = \"ab\": not two tokens");
  expect_error(base("gpt2", "gpt2").strs("tokenizer.ggml.merges", {"a c"}).bytes(), "not in the vocabulary");
  expect_error(base("gpt2", "gpt2").strs("tokenizer.ggml.merges", {"b a"}).bytes(), "not in the vocabulary");
  expect_error(base("gpt2", "gpt2").strs("tokenizer.ggml.merges", {"a  b"}).bytes(), "not two tokens");
  expect_error(base("llama", "").u32("tokenizer.ggml.bos_token_id", 3).bytes(),
               "tokenizer.ggml.bos_token_id = 3 is out of range (vocabulary of 3)");
  expect_error(base("llama", "").u32("tokenizer.ggml.eos_token_id", 0xFFFFFFFFu).bytes(), "eos_token_id");
  expect_error(base("llama", "").str("tokenizer.ggml.eos_token_id", "2").bytes(), "eos_token_id");
  expect_error(base("llama", "").i32s("tokenizer.ggml.token_type", {1, 1}).bytes(),
               "tokenizer.ggml.token_type has 2 entries for 3 tokens");
  expect_error(base("llama", "").f32s("tokenizer.ggml.scores", {0}).bytes(), "tokenizer.ggml.scores has 1");
  expect_error(GgufKvBuilder().str("tokenizer.ggml.model", "llama").strs("tokenizer.ggml.tokens", {}).bytes(),
               "0 tokens");
  expect_error(base("llama", "").str("tokenizer.ggml.add_bos_token", "yes").bytes(), "add_bos_token");
  // A vocabulary with ids in range loads; add_bos_token overrides the family default.
  auto ok = base("llama", "").u32("tokenizer.ggml.bos_token_id", 2).boolean("tokenizer.ggml.add_bos_token", false);
  auto okb = ok.bytes();
  auto t = load(okb);
  ASSERT_TRUE(t.is_ok()) << t.message();
  EXPECT_FALSE(t.value().add_bos());
  EXPECT_EQ(t.value().bos_id(), 2);
  EXPECT_EQ(t.value().eos_id(), -1);
}

}  // namespace
