// The LLM guest end to end through the CLI (`samepage generate|tokenize|chat`)
// on the real model (SmolLM2-135M-Instruct, $SAMEPAGE_MODEL_DIR, set by
// scripts/test.sh), and bad model files made here by editing its bytes:
// each is refused with a message naming the problem and exit code 1.
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "model_config.h"
#include "real_model.h"
#include "test_support.h"

namespace samepage {
namespace {

using test::CliResult;
using test::run_cli;


std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string write_bytes(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), long(bytes.size()));
  return path;
}

// Offset of the first occurrence of text in bytes (the GGUF header holds
// every key and tensor name once).
size_t find(const std::vector<uint8_t>& bytes, const std::string& text) {
  auto it = std::search(bytes.begin(), bytes.end(), text.begin(), text.end());
  return it == bytes.end() ? std::string::npos : size_t(it - bytes.begin());
}

TEST(LlmGuest, GreedyCapitalOfFranceIsParis) {
  REQUIRE_REAL_MODEL(model);
  CliResult r = run_cli("generate -m " + model + " -p 'The capital of France is' -n 16 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Paris"), std::string::npos) << r.out;
  // The timing line: every field present, decode measured.
  const size_t json = r.out.rfind("{\"load_ms\"");
  ASSERT_NE(json, std::string::npos) << r.out;
  for (const char* key : {"prompt_tokens\": 5", "prefill_tok_s", "generated_tokens\": 16", "decode_tok_s",
                          "host_ms_per_token", "guest_ms_per_token", "guest_share"})
    EXPECT_NE(r.out.find(key, json), std::string::npos) << key << " in " << r.out.substr(json);
}

TEST(LlmGuest, GenerateWithIdsPrintsIds) {
  REQUIRE_REAL_MODEL(model);
  // "The capital of France is" → " Paris" (7042), greedy.
  CliResult r = run_cli("generate -m " + model + " --ids -p '504 3575 282 4649 314' -n 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("7042 ", 0), 0u) << r.out;
  CliResult bad = run_cli("generate -m " + model + " --ids -p '504 999999' -n 3");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("token id 999999 is outside the vocabulary of 49152"), std::string::npos) << bad.err;
}

// --warmup runs the prompt once untimed, then forgets it: the same tokens
// come out, the cache holds the prompt once (n_past = 5 + 2 decode steps),
// and the untimed run is reported beside the timed one.
TEST(LlmGuest, WarmupRunsThePromptOnceUntimedAndChangesNothing) {
  REQUIRE_REAL_MODEL(model);
  CliResult r = run_cli("generate -m " + model + " --ids -p '504 3575 282 4649 314' -n 3 --json --warmup");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("7042 ", 0), 0u) << r.out;
  const size_t json = r.out.rfind("{\"load_ms\"");
  ASSERT_NE(json, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"n_past\": 7,", json), std::string::npos) << r.out.substr(json);
  const size_t warm = r.out.find("\"warmup_ms\": ", json);
  ASSERT_NE(warm, std::string::npos) << r.out.substr(json);
  EXPECT_GT(std::strtod(r.out.c_str() + warm + std::strlen("\"warmup_ms\": "), nullptr), 0.0);
}

TEST(LlmGuest, TokenizePrintsIds) {
  REQUIRE_REAL_MODEL(model);
  CliResult ids = run_cli("tokenize -m " + model + " -p 'The capital of France is' --ids");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  EXPECT_EQ(ids.out, "[504, 3575, 282, 4649, 314]\n");
  CliResult pieces = run_cli("tokenize -m " + model + " -p 'Hello world'");
  ASSERT_EQ(pieces.exit_code, 0) << pieces.err;
  EXPECT_NE(pieces.out.find("-> ' world'"), std::string::npos) << pieces.out;
}

TEST(LlmGuest, ChatKeepsTheConversationOnAPipe) {
  REQUIRE_REAL_MODEL(model);
  CliResult r = run_cli("chat -m " + model + " -n 24", "What is the capital of France?\nAnd of Italy?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Paris"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Rome"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("> "), std::string::npos) << "no prompt marker on a pipe: " << r.out;
}

TEST(LlmGuest, SeededSamplingIsDeterministic) {
  REQUIRE_REAL_MODEL(model);
  const std::string args = "generate -m " + model + " -p 'Once upon a time' -n 12 --temp 0.9 --top-k 50";
  CliResult a = run_cli(args + " --seed 7"), b = run_cli(args + " --seed 7"), c = run_cli(args + " --seed 8");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST(LlmGuest, UsageErrorsExit2) {
  REQUIRE_REAL_MODEL(model);
  CliResult no_prompt = run_cli("generate -m " + model);
  EXPECT_EQ(no_prompt.exit_code, 2);
  EXPECT_NE(no_prompt.err.find("-p PROMPT"), std::string::npos) << no_prompt.err;
  CliResult bad_temp = run_cli("generate -m " + model + " -p x --temp -1");
  EXPECT_EQ(bad_temp.exit_code, 2);
  EXPECT_NE(bad_temp.err.find("--temp must be"), std::string::npos) << bad_temp.err;
  CliResult no_model = run_cli("generate -p x");
  EXPECT_EQ(no_model.exit_code, 2);
  CliResult help = run_cli("generate --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--temp T"), std::string::npos);
}

// Bad model files: one line on stderr naming the problem, exit code 1.
class LlmGuestBadModel : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = test::real_model_path();
    if (path_.empty()) GTEST_SKIP() << "SAMEPAGE_MODEL_DIR is unset (scripts/test.sh sets it)";
    bytes_ = read_bytes(path_);
    ASSERT_GT(bytes_.size(), 1000000u);
    dir_ = test::make_temp_dir();
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void expect_refused(const std::vector<uint8_t>& bytes, const std::string& message) {
    const std::string file = write_bytes(dir_, "bad.gguf", bytes);
    CliResult r = run_cli("generate -m " + file + " -p 'Hello' -n 2");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("trap"), std::string::npos) << r.err;
  }
  std::string path_, dir_;
  std::vector<uint8_t> bytes_;
};

TEST_F(LlmGuestBadModel, Truncated) {
  for (size_t n : {size_t(3), size_t(100), size_t(5000), bytes_.size() / 2, bytes_.size() - 1}) {
    SCOPED_TRACE(n);
    expect_refused(std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + long(n)), "[gguf]");
  }
}

TEST_F(LlmGuestBadModel, EmptyAndNotGguf) {
  expect_refused({}, "is empty");
  expect_refused({'h', 'e', 'l', 'l', 'o', '\n'}, "[gguf]");
}

TEST_F(LlmGuestBadModel, WrongArchitecture) {
  const size_t at = find(bytes_, "general.architecture");
  ASSERT_NE(at, std::string::npos);
  // key, u32 type (string), u64 length 5, "llama"
  const size_t value = at + std::strlen("general.architecture") + 4 + 8;
  ASSERT_EQ(std::string(bytes_.begin() + long(value), bytes_.begin() + long(value) + 5), "llama");
  std::memcpy(&bytes_[value], "gemma", 5);
  expect_refused(bytes_, "architecture 'gemma' is not supported (supported: llama, qwen2)");
}

TEST_F(LlmGuestBadModel, UnsupportedTensorType) {
  const std::string name = "blk.0.attn_q.weight";
  const size_t at = find(bytes_, name);
  ASSERT_NE(at, std::string::npos);
  // name, u32 n_dims (2), u64 dims x2, u32 type: Q4_1 (3) → Q4_K (12)
  const size_t type = at + name.size() + 4 + 2 * 8;
  ASSERT_EQ(bytes_[type], 3);
  bytes_[type] = 12;
  expect_refused(bytes_, "Q4_K (12), which samepage does not support yet (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1)");
}

TEST_F(LlmGuestBadModel, MissingTensor) {
  const size_t at = find(bytes_, "blk.3.ffn_up.weight");
  ASSERT_NE(at, std::string::npos);
  bytes_[at + std::strlen("blk.3.ffn_u")] = 'q';
  expect_refused(bytes_, "missing tensor blk.3.ffn_up.weight");
}

TEST_F(LlmGuestBadModel, InconsistentShape) {
  const size_t at = find(bytes_, "llama.embedding_length");
  ASSERT_NE(at, std::string::npos);
  const size_t value = at + std::strlen("llama.embedding_length") + 4;  // u32 type, u32 value
  const uint32_t wrong = 558;  // 9 heads of 62
  std::memcpy(&bytes_[value], &wrong, 4);
  expect_refused(bytes_, "rope.dimension_count 64 differs from the head dimension 62");
  const size_t ffn = find(bytes_, "llama.feed_forward_length");
  ASSERT_NE(ffn, std::string::npos);
  const uint32_t dim = 576, ffn_dim = 1600;
  std::memcpy(&bytes_[value], &dim, 4);
  std::memcpy(&bytes_[ffn + std::strlen("llama.feed_forward_length") + 4], &ffn_dim, 4);
  expect_refused(bytes_, "tensor blk.0.ffn_gate.weight has dims [576, 1536], expected [576, 1600] from the metadata");
}

// The same checks natively, on the parsed real file: the numbers SmolLM2's card gives.
TEST(LlmGuestModelConfig, SmolLM2HyperParameters) {
  REQUIRE_REAL_MODEL(model);
  const std::vector<uint8_t> bytes = read_bytes(model);
  auto gguf = llm::GgufFile::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(gguf.is_ok()) << gguf.message();
  auto spec = llm::model_spec_from_gguf(gguf.value());
  ASSERT_TRUE(spec.is_ok()) << spec.message();
  const llm::ModelConfig& c = spec.value().config;
  EXPECT_EQ(c.n_layers, 30u);
  EXPECT_EQ(c.dim, 576u);
  EXPECT_EQ(c.ffn_dim, 1536u);
  EXPECT_EQ(c.n_heads, 9u);
  EXPECT_EQ(c.n_kv_heads, 3u);
  EXPECT_EQ(c.head_dim, 64u);
  EXPECT_EQ(c.vocab_size, 49152u);
  EXPECT_FLOAT_EQ(c.rope_freq_base, 100000.0f);
  EXPECT_FALSE(c.rope_neox);
  EXPECT_TRUE(c.tied_output);
  EXPECT_EQ(spec.value().tensors.output, spec.value().tensors.token_embd);
  EXPECT_EQ(spec.value().tensors.layers.size(), 30u);
}

}  // namespace
}  // namespace samepage
