// Our tokenizer against Hugging Face `tokenizers` (scripts/tokenizer_reference.py)
// on the SmolLM2 vocabulary, over tests/data/tokenizer_corpus.json: the same ids
// for every string, with and without special-token parsing, for the SmolLM
// pre-tokenizer and (same vocabulary, other splitting) GPT-2, Llama 3 and Qwen2.
// Needs SAMEPAGE_MODEL_DIR and SAMEPAGE_PYTHON (scripts/test.sh sets both).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "byte_unicode.h"
#include "chat_template.h"
#include "gguf_kv_builder.h"
#include "test_paths.h"
#include "tokenizer.h"
#include "unicode.h"

namespace {

using llm::GgufFile;
using llm::Tokenizer;

struct RefCase {
  std::string text;
  std::vector<int32_t> special;  // ids with special tokens parsed
  std::vector<int32_t> plain;    // ids with special tokens as text
};

std::string join(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> out;
  std::istringstream in(s);
  for (int32_t id; in >> id;) out.push_back(id);
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string model_path() {
  const char* dir = std::getenv("SAMEPAGE_MODEL_DIR");
  return std::string(dir != nullptr ? dir : "") + "/SmolLM2-135M-Instruct.Q4_1.gguf";
}
std::string corpus_path() { return samepage::test::test_data_dir() + "/tokenizer_corpus.json"; }

// The real model's bytes and parsed header, loaded once.
struct Model {
  std::vector<uint8_t> bytes;
  llm::Result<GgufFile> gguf = llm::Status::error("not loaded");
};
const Model& real_model() {
  static Model* m = [] {
    auto* out = new Model;
    std::ifstream in(model_path(), std::ios::binary);
    if (!in) return out;
    out->bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    out->gguf = GgufFile::parse(out->bytes.data(), out->bytes.size());
    return out;
  }();
  return *m;
}

// Runs the reference for pre; fills cases or returns why not.
std::string run_reference(const std::string& pre, std::vector<RefCase>& cases) {
  std::string script = samepage::test::test_data_dir() + "/../../scripts/tokenizer_reference.py";
  std::string out = testing::TempDir() + "tokenizer_ref_" + pre + ".tsv";
  std::string cmd = std::string("'") + std::getenv("SAMEPAGE_PYTHON") + "' '" + script + "' '" + model_path() +
                    "' '" + corpus_path() + "' " + pre + " > '" + out + "'";
  if (int rc = std::system(cmd.c_str()); rc != 0) return "reference failed (" + std::to_string(rc) + "): " + cmd;
  std::ifstream in(out);
  for (std::string line; std::getline(in, line);) {
    size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos) return "bad reference line: " + line;
    cases.push_back(RefCase{from_hex(line.substr(0, t1)), parse_ids(line.substr(t1 + 1, t2 - t1 - 1)),
                            parse_ids(line.substr(t2 + 1))});
  }
  return {};
}

// The real vocabulary and merges with tokenizer.ggml.pre set to pre.
std::vector<uint8_t> with_pre(const GgufFile& real, const std::string& pre) {
  auto tokens = real.get_array("tokenizer.ggml.tokens", llm::GGUF_TYPE_STRING).value();
  auto types = real.get_array("tokenizer.ggml.token_type", llm::GGUF_TYPE_INT32).value();
  auto merges = real.get_array("tokenizer.ggml.merges", llm::GGUF_TYPE_STRING).value();
  std::vector<std::string> tok, mer;
  std::vector<int32_t> ty;
  for (uint64_t i = 0; i < tokens->n_elems; ++i) tok.emplace_back(tokens->string_at(i));
  for (uint64_t i = 0; i < types->n_elems; ++i) ty.push_back(types->scalar_at<int32_t>(i));
  for (uint64_t i = 0; i < merges->n_elems; ++i) mer.emplace_back(merges->string_at(i));
  samepage::test::GgufKvBuilder b;
  b.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.pre", pre).strs("tokenizer.ggml.tokens", tok);
  b.i32s("tokenizer.ggml.token_type", ty).strs("tokenizer.ggml.merges", mer);
  b.u32("tokenizer.ggml.bos_token_id", 1).u32("tokenizer.ggml.eos_token_id", 2);
  return b.bytes();
}

std::vector<std::string> corpus_strings();

class TokenizerReference : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (std::getenv("SAMEPAGE_MODEL_DIR") == nullptr || std::getenv("SAMEPAGE_PYTHON") == nullptr)
      GTEST_SKIP() << "set SAMEPAGE_MODEL_DIR and SAMEPAGE_PYTHON (scripts/test.sh does) to compare with tokenizers";
    ASSERT_TRUE(real_model().gguf.is_ok()) << model_path() << ": " << real_model().gguf.message();
  }
};

TEST_P(TokenizerReference, SameIdsAsHuggingFace) {
  const std::string pre = GetParam();
  std::vector<RefCase> cases;
  std::string why = run_reference(pre, cases);
  ASSERT_TRUE(why.empty()) << why;
  ASSERT_GE(cases.size(), 500u);
  // The corpus as our JSON reader sees it is the corpus the reference encoded.
  std::vector<std::string> strings = corpus_strings();
  ASSERT_EQ(strings.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) ASSERT_EQ(strings[i], cases[i].text) << "corpus string " << i;
  std::vector<uint8_t> rebuilt;
  llm::Result<GgufFile> gguf = llm::Status::error("unset");
  if (pre == "smollm") {
    gguf = real_model().gguf;
  } else {
    rebuilt = with_pre(real_model().gguf.value(), pre);
    gguf = GgufFile::parse(rebuilt.data(), rebuilt.size());
  }
  ASSERT_TRUE(gguf.is_ok()) << gguf.message();
  auto tok = Tokenizer::from_gguf(gguf.value());
  ASSERT_TRUE(tok.is_ok()) << tok.message();
  size_t n_mismatch = 0, n_ids = 0;
  for (const RefCase& c : cases) {
    for (bool parse_special : {true, false}) {
      std::vector<int32_t> ours = tok.value().encode(c.text, parse_special);
      const std::vector<int32_t>& ref = parse_special ? c.special : c.plain;
      n_ids += ref.size();
      if (ours == ref) continue;
      if (n_mismatch++ == 0)
        ADD_FAILURE() << "pre " << pre << ", parse_special " << parse_special << ", first mismatch on \"" << c.text
                      << "\"\n  ours: " << join(ours) << "\n  ref:  " << join(ref);
    }
  }
  EXPECT_EQ(n_mismatch, 0u) << "of " << 2 * cases.size() << " encodings";
  std::printf("[ compare  ] pre %s: %zu strings x 2 modes, %zu reference ids, %zu mismatches\n", pre.c_str(),
              cases.size(), n_ids, n_mismatch);
}

INSTANTIATE_TEST_SUITE_P(Pre, TokenizerReference, testing::Values("smollm", "gpt2", "llama-bpe", "qwen2"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& ch : name) if (ch == '-') ch = '_';
                           return name;
                         });

class TokenizerSmolLM2 : public testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("SAMEPAGE_MODEL_DIR") == nullptr) GTEST_SKIP() << "set SAMEPAGE_MODEL_DIR (scripts/test.sh does)";
    ASSERT_TRUE(real_model().gguf.is_ok()) << model_path() << ": " << real_model().gguf.message();
    auto tok = Tokenizer::from_gguf(real_model().gguf.value());
    ASSERT_TRUE(tok.is_ok()) << tok.message();
    tok_ = tok.value();
  }
  Tokenizer tok_;
};

// The corpus file: a JSON array of strings, written by scripts/gen_tokenizer_corpus.py
// (escapes: \" \\ \/ \b \f \n \r \t \uXXXX with surrogate pairs). Empty on a parse error.
std::vector<std::string> corpus_strings() {
  std::ifstream in(corpus_path());
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  size_t i = json.find('[');
  if (i == std::string::npos) return {};
  auto hex4 = [&](size_t at) { return static_cast<uint32_t>(std::stoul(json.substr(at, 4), nullptr, 16)); };
  while ((i = json.find_first_of("\"]", i + 1)) != std::string::npos && json[i] == '"') {
    std::string s;
    for (++i; i < json.size() && json[i] != '"'; ++i) {
      if (json[i] != '\\') { s.push_back(json[i]); continue; }
      char e = json[++i];
      if (e == 'u') {
        uint32_t cp = hex4(i + 1);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && json.compare(i + 1, 2, "\\u") == 0) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(i + 3) - 0xDC00);
          i += 6;
        }
        llm::utf8_append(cp, s);
      } else {
        s.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e);
      }
    }
    out.push_back(s);
  }
  return out;
}

TEST_F(TokenizerSmolLM2, Metadata) {
  EXPECT_EQ(tok_.vocab_size(), 49152u);
  EXPECT_EQ(tok_.bos_id(), 1);
  EXPECT_EQ(tok_.eos_id(), 2);
  EXPECT_FALSE(tok_.add_bos());
  EXPECT_TRUE(tok_.is_end_of_generation(2));   // <|im_end|>
  EXPECT_TRUE(tok_.is_end_of_generation(0));   // <|endoftext|>
  EXPECT_FALSE(tok_.is_end_of_generation(1));  // <|im_start|>
  EXPECT_FALSE(tok_.is_end_of_generation(28));
  EXPECT_FALSE(tok_.is_end_of_generation(-1));
  EXPECT_FALSE(tok_.is_end_of_generation(1 << 30));
  auto family = llm::chat_family_from_gguf(real_model().gguf.value());
  ASSERT_TRUE(family.is_ok()) << family.message();
  EXPECT_EQ(family.value(), llm::ChatFamily::ChatFamily_chatml);
}

TEST_F(TokenizerSmolLM2, ChatPromptEncodesSpecialsAsSingleIds) {
  std::string prompt = llm::apply_chat_template(llm::ChatFamily::ChatFamily_chatml, {{"user", "Hi"}}, true);
  std::vector<int32_t> ids = tok_.encode(prompt, true);
  ASSERT_GE(ids.size(), 6u);
  EXPECT_EQ(ids.front(), 1);  // <|im_start|>
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1);
  EXPECT_EQ(tok_.decode(ids, true), prompt);
  EXPECT_EQ(tok_.decode(ids, false), "user\nHi\nassistant\n");  // control tokens hidden
}

TEST_F(TokenizerSmolLM2, RoundTripsCorpusAndBytes) {
  std::vector<std::string> strings = corpus_strings();
  ASSERT_GE(strings.size(), 500u) << corpus_path();
  size_t n = 0;
  for (const std::string& s : strings) {
    EXPECT_EQ(tok_.decode(tok_.encode(s, false)), s);
    EXPECT_EQ(tok_.decode(tok_.encode(s, true), true), s);
    ++n;
  }
  // Arbitrary bytes, invalid UTF-8 included: byte-level BPE round-trips every
  // byte the vocabulary has a token for; SmolLM2 lacks a few (0xC0, 0xC1, 0xF5..0xFF,
  // some C0 controls) and, as Hugging Face's BPE without <unk>, drops them.
  std::string bytes, kept;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += "\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80\xE2\x82";  // overlong, surrogate, past U+10FFFF, truncated
  size_t n_missing = 0;
  for (char ch : bytes) {
    std::string mapped;
    llm::byte_level_encode(std::string(1, ch), mapped);
    if (tok_.find_token(mapped) >= 0) kept.push_back(ch); else ++n_missing;
  }
  EXPECT_LT(n_missing, 40u);
  EXPECT_EQ(tok_.decode(tok_.encode(bytes, false)), kept);
  std::printf("[ roundtrip] %zu corpus strings + 267 raw bytes\n", n);
}

TEST_F(TokenizerSmolLM2, DecodeTokenGivesRawBytes) {
  int32_t space_the = tok_.find_token("\xC4\xA0the");  // "Ġthe"
  ASSERT_GE(space_the, 0);
  EXPECT_EQ(tok_.decode_token(space_the), " the");
  EXPECT_EQ(tok_.decode_token(1), "");
  EXPECT_EQ(tok_.decode_token(1, true), "<|im_start|>");
  EXPECT_EQ(tok_.decode_token(-5), "");
  EXPECT_EQ(tok_.decode_token(49152), "");
  // "é" is two bytes; a split emoji gives partial UTF-8 per token that concatenates back.
  std::vector<int32_t> ids = tok_.encode("\xF0\x9F\xAB\xA0", false);  // U+1FAE0
  std::string joined;
  for (int32_t id : ids) joined += tok_.decode_token(id);
  EXPECT_EQ(joined, "\xF0\x9F\xAB\xA0");
}

// 10 KB of English prose; the budget is 20 ms natively.
TEST_F(TokenizerSmolLM2, PerfTenKilobytesOfEnglish) {
  const std::string paragraph =
      "The tokenizer splits text into words, numbers and punctuation, then merges the bytes of each word "
      "by the rank of its merges until no merge applies. It's quick: most words are short, and the "
      "vocabulary holds the common ones whole. In 2024, small models such as SmolLM2 ran on laptops.\n";
  std::string text;
  while (text.size() < 10240) text += paragraph;
  text.resize(10240);
  std::vector<int32_t> ids;
  double best_ms = 1e9;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    ids = tok_.encode(text, false);
    auto t1 = std::chrono::steady_clock::now();
    best_ms = std::min(best_ms, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::printf("[ perf     ] encode 10240 bytes of English: %zu tokens, best of 5 %.3f ms\n", ids.size(), best_ms);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(best_ms, 20.0);
#endif
}

}  // namespace
