// Session snapshots end to end through the CLI on the real model
// (SmolLM2-135M-Instruct, $SAMEPAGE_MODEL_DIR): a run saved after k tokens
// and continued from the file produces, token for token, what one
// uninterrupted run does (greedy, f16 and f32 caches, and seeded sampling
// with a repetition penalty: the sampler's state travels too); a chat
// continues its conversation; bad, mismatched or missing files exit 1 with
// a message and change nothing. --session-bench, in one process: the
// logits after a restore equal the re-prefilled ones, bit for bit.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "real_model.h"
#include "samepage/backend.h"
#include "test_support.h"

namespace samepage {
namespace {

using test::CliResult;
using test::run_cli;


std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), long(bytes.size()));
}

// "The capital of France is", as ids (with BOS).
constexpr const char* kPrompt = "--ids -p '1 504 3575 282 4649 314'";

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A = prompt + n tokens; B = prompt + k tokens saved, then n - k loaded: A == B.
void expect_split_equals_whole(const std::string& model, const std::string& flags, int n, int k) {
  const std::string dir = test::make_temp_dir();
  const std::string base = "generate -m " + model + " " + kPrompt + " --ignore-eos " + flags;
  CliResult whole = run_cli(base + " -n " + std::to_string(n));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  CliResult first = run_cli(base + " -n " + std::to_string(k) + " --save-session " + dir + "/s.safetensors");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  CliResult rest = run_cli("generate -m " + model + " --ids --ignore-eos " + flags + " -n " + std::to_string(n - k) +
                           " --load-session " + dir + "/s.safetensors --json");
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  const size_t json = rest.out.find("{\"load_ms\"");
  ASSERT_NE(json, std::string::npos) << rest.out;
  EXPECT_EQ(trimmed(whole.out), trimmed(first.out) + " " + trimmed(rest.out.substr(0, json))) << flags;
  EXPECT_NE(rest.out.find("\"session_load_ms\"", json), std::string::npos);
  EXPECT_NE(rest.out.find("\"prompt_tokens\": 1,", json), std::string::npos) << "only the pending token is run again";
  std::filesystem::remove_all(dir);
}

TEST(LlmSession, GreedyContinuationEqualsAnUninterruptedRun) {
  REQUIRE_REAL_MODEL(model);
  expect_split_equals_whole(model, "", 24, 9);
}

TEST(LlmSession, F32CacheContinuationEqualsAnUninterruptedRun) {
  REQUIRE_REAL_MODEL(model);
  expect_split_equals_whole(model, "--kv-f32", 16, 5);
}

TEST(LlmSession, SampledContinuationCarriesTheSamplerState) {
  REQUIRE_REAL_MODEL(model);
  // Seeded draws and a penalty window: both must resume where they were.
  expect_split_equals_whole(model, "--temp 0.9 --top-k 40 --seed 11 --repeat-penalty 1.3 --repeat-last-n 8", 20, 7);
}

TEST(LlmSession, ChatContinuesTheConversation) {
  REQUIRE_REAL_MODEL(model);
  const std::string dir = test::make_temp_dir();
  const std::string chat = "chat -m " + model + " -n 24";
  CliResult whole = run_cli(chat, "What is the capital of France?\nAnd of Italy?\n");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  CliResult first = run_cli(chat + " --save-session " + dir + "/c.st", "What is the capital of France?\n");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  CliResult second = run_cli(chat + " --load-session " + dir + "/c.st --save-session " + dir + "/c.st", "And of Italy?\n");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(whole.out, first.out + second.out);
  EXPECT_NE(second.out.find("Rome"), std::string::npos) << second.out;
  // A chat session continued by generate: its last token runs again for logits.
  CliResult gen = run_cli("generate -m " + model + " --load-session " + dir + "/c.st -n 4 --json");
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  // A generate session has no conversation for chat.
  CliResult made = run_cli("generate -m " + model + " " + kPrompt + " -n 2 --save-session " + dir + "/g.st");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  CliResult refused = run_cli(chat + " --load-session " + dir + "/g.st", "hi\n");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("has no conversation"), std::string::npos) << refused.err;
  std::filesystem::remove_all(dir);
}

// Each bad file: exit 1, a message naming the problem, no output, and the
// file (also the --save-session target) left exactly as it was.
TEST(LlmSession, BadFilesAreRefusedAndChangeNothing) {
  REQUIRE_REAL_MODEL(model);
  const std::string dir = test::make_temp_dir();
  const std::string good = dir + "/good.st";
  CliResult made = run_cli("generate -m " + model + " " + kPrompt + " -n 12 --save-session " + good);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::vector<uint8_t> bytes = read_bytes(good);
  ASSERT_GT(bytes.size(), 1000u);
  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + long(bytes.size() / 2));
  std::vector<uint8_t> garbage(bytes.size(), 0x41);
  std::vector<uint8_t> other_model = bytes, other_version = bytes;
  const std::string hash_key = "\"model_sha256\":\"";
  auto at = std::search(other_model.begin(), other_model.end(), hash_key.begin(), hash_key.end());
  ASSERT_NE(at, other_model.end());
  at[long(hash_key.size())] = at[long(hash_key.size())] == '0' ? '1' : '0';  // one hex digit of the model's hash
  const std::string version = "\"version\":\"1\"";
  auto v = std::search(other_version.begin(), other_version.end(), version.begin(), version.end());
  ASSERT_NE(v, other_version.end());
  v[long(version.size()) - 2] = '7';
  struct Case { std::string name; std::vector<uint8_t> bytes; std::string flags, want; };
  const Case cases[] = {
      {"truncated", truncated, "", "outside the data"},
      {"garbage", garbage, "", "header length"},
      {"other-model", other_model, "", "another model file"},
      {"other-version", other_version, "", "format version 7"},
      {"f32-run", bytes, "--kv-f32", "F16 KV cache; this run's is F32"},
      {"small-context", bytes, "-c 8", "n_past 17 exceeds this run's context of 8"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/" + c.name + ".st";
    write_bytes(path, c.bytes);
    CliResult r = run_cli("generate -m " + model + " --ids -n 4 " + c.flags + " --load-session " + path +
                          " --save-session " + path);
    EXPECT_EQ(r.exit_code, 1) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << c.name << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.name << ": " << r.out;
    EXPECT_EQ(read_bytes(path), c.bytes) << c.name << ": the file changed";
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp")) << c.name;
  }
  CliResult missing = run_cli("generate -m " + model + " --load-session " + dir + "/none.st");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.err;
  CliResult no_dir = run_cli("generate -m " + model + " " + kPrompt + " -n 1 --save-session " + dir + "/no/dir/s.st");
  EXPECT_EQ(no_dir.exit_code, 1);
  EXPECT_NE(no_dir.err.find("existing directory"), std::string::npos) << no_dir.err;
  CliResult no_value = run_cli("generate -m " + model + " " + kPrompt + " --save-session");
  EXPECT_EQ(no_value.exit_code, 2);
  std::filesystem::remove_all(dir);
}

// The guest writes only inside the session's directory, read-only when it
// only loads: the file is reached through a preopen, never a host path.
TEST(LlmSession, TheFileIsReachedThroughItsDirectoryOnly) {
  REQUIRE_REAL_MODEL(model);
  const std::string dir = test::make_temp_dir();
  CliResult made = run_cli("generate -m " + model + " " + kPrompt + " -n 3 --save-session " + dir + "/s.st --json");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.out.find("\"session_save_ms\""), std::string::npos);
  // Only the session (its .tmp renamed away) is left in the directory.
  size_t n_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n_files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(n_files, 1u);
  std::filesystem::remove_all(dir);
}

// The number after "key": in a JSON line, or -1 when absent.
double json_number(const std::string& line, const std::string& key) {
  const size_t at = line.find("\"" + key + "\": ");
  if (at == std::string::npos) return -1;
  return std::strtod(line.c_str() + at + key.size() + 4, nullptr);
}

// --session-bench on every backend here, f16 and f32 caches: exit 0 only when
// the restored logits equal the re-prefilled ones; one JSON line with the
// times, the file's size (the file is there, that big) and the speedup.
TEST(LlmSession, BenchRestoreGivesTheReprefilledLogits) {
  REQUIRE_REAL_MODEL(model);
  for (const char* backend : {"cpu", "cuda"}) {
    if (auto b = create_backend(backend); !b.is_ok()) continue;  // no GPU here
    for (const char* kv : {"", " --kv-f32"}) {
      const std::string dir = test::make_temp_dir();
      CliResult r = run_cli("generate -m " + model + " " + kPrompt + kv + " --backend " + backend +
                            " --session-bench " + dir + "/bench.safetensors --json");
      ASSERT_EQ(r.exit_code, 0) << backend << kv << ": " << r.err;
      const std::string& line = r.out;
      EXPECT_NE(line.find("\"logits_equal\": true"), std::string::npos) << line;
      EXPECT_NE(line.find("\"uninterrupted_equal\": true"), std::string::npos) << line;
      EXPECT_EQ(json_number(line, "n_tokens"), 6) << line;
      EXPECT_EQ(json_number(line, "max_abs_diff"), 0) << line;
      for (const char* key : {"save_ms", "restore_ms", "reprefill_ms", "speedup", "hash_ms"})
        EXPECT_GT(json_number(line, key), 0) << key << ": " << line;
      // The median restore's parts: read, checks, upload; together at most the whole.
      const double parts = json_number(line, "restore_read_ms") + json_number(line, "restore_check_ms") +
                           json_number(line, "restore_upload_ms");
      EXPECT_GT(json_number(line, "restore_upload_ms"), 0) << line;
      EXPECT_LE(parts, json_number(line, "restore_ms") + 0.01) << line;
      const double bytes = json_number(line, "file_bytes");
      EXPECT_EQ(bytes, double(std::filesystem::file_size(dir + "/bench.safetensors"))) << line;
      EXPECT_NE(line.find(*kv ? "\"kv_dtype\": \"F32\"" : "\"kv_dtype\": \"F16\""), std::string::npos) << line;
      // The device-memory checkpoint: restored over zeroed rows, the same logits as the re-prefill's;
      // it holds every layer's filled K and V rows (SmolLM2-135M: 30 layers of 3 × 64 per position).
      EXPECT_NE(line.find("\"checkpoint_logits_equal\": true"), std::string::npos) << line;
      // Another session through the same buffer: the upload recorded once, replayed over its bytes.
      EXPECT_NE(line.find("\"other_session_equal\": true"), std::string::npos) << line;
      EXPECT_EQ(json_number(line, "upload_records"), 1) << line;
      for (const char* key : {"checkpoint_ms", "checkpoint_restore_ms", "checkpoint_restore_first_ms", "checkpoint_speedup"})
        EXPECT_GT(json_number(line, key), 0) << key << ": " << line;
      // The speedup is the printed times' ratio (times rounded to 0.1 µs, microseconds here).
      const double cp_restore = json_number(line, "checkpoint_restore_ms"), speedup = json_number(line, "checkpoint_speedup");
      EXPECT_NEAR(speedup, json_number(line, "reprefill_ms") / cp_restore, 0.051 + speedup * (1e-3 + 0.6e-4 / cp_restore))
          << line;
      EXPECT_EQ(json_number(line, "checkpoint_bytes"), 2.0 * 30 * 6 * 3 * 64 * (*kv ? 4 : 2))
          << line;
      std::filesystem::remove_all(dir);
    }
  }
}

// Misuse is refused with a message: a context without room for the decode
// step, a second session flag, another mode.
TEST(LlmSession, BenchMisuseIsRefused) {
  REQUIRE_REAL_MODEL(model);
  const std::string dir = test::make_temp_dir();
  const std::string bench = " --session-bench " + dir + "/b.safetensors";
  CliResult small = run_cli("generate -m " + model + " " + kPrompt + " --backend cpu -c 6" + bench);
  EXPECT_EQ(small.exit_code, 1);
  EXPECT_NE(small.err.find("raise -c"), std::string::npos) << small.err;
  CliResult both = run_cli("generate -m " + model + " " + kPrompt + " --backend cpu" + bench + " --save-session " + dir + "/s");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("drop --save-session"), std::string::npos) << both.err;
  CliResult chat = run_cli("chat -m " + model + " --backend cpu" + bench, "hi\n");
  EXPECT_EQ(chat.exit_code, 2);
  EXPECT_NE(chat.err.find("generate benchmark"), std::string::npos) << chat.err;
  CliResult no_prompt = run_cli("generate -m " + model + " --backend cpu" + bench);
  EXPECT_EQ(no_prompt.exit_code, 2);
  EXPECT_NE(no_prompt.err.find("-p PROMPT"), std::string::npos) << no_prompt.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/b.safetensors"));
  std::filesystem::remove_all(dir);
}

// --session-bench on a synthetic model (no download: it runs on the device
// machine too, where scripts/device_cuda.sh picks the cuda case): on each
// backend, the restored logits equal the re-prefilled ones, f16 and f32 caches.
class LlmSessionBench : public ::testing::TestWithParam<const char*> {};

TEST_P(LlmSessionBench, SyntheticModelRestoresTheReprefilledLogits) {
  const std::string backend = GetParam();
  if (auto b = create_backend(backend); !b.is_ok()) GTEST_SKIP() << backend << ": " << b.message();
  const std::string dir = test::make_temp_dir();
  const std::string synth = "'" + test::beside_test_binary(SAMEPAGE_TEST_SYNTH_BINARY) + "' --shape tiny --dtype bf16 -o " +
                            dir + "/tiny.gguf >" + dir + "/synth.log 2>&1";
  ASSERT_EQ(std::system(synth.c_str()), 0) << test::read_text(dir + "/synth.log");
  const std::string ids = "1 300 17 42 99 260 7 311 128 64 5 480 33 270 301 12 88 190 2 450 61 333 9 100";
  for (const char* kv : {"", " --kv-f32"}) {
    CliResult r = run_cli("generate -m " + dir + "/tiny.gguf --ids -p '" + ids + "' --batch 7 --backend " + backend + kv +
                          " --session-bench " + dir + "/bench.safetensors --json");
    ASSERT_EQ(r.exit_code, 0) << backend << kv << ": " << r.err;
    EXPECT_NE(r.out.find("\"logits_equal\": true"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"uninterrupted_equal\": true"), std::string::npos) << r.out;
    EXPECT_EQ(json_number(r.out, "n_tokens"), 24) << r.out;
    EXPECT_GT(json_number(r.out, "restore_ms"), 0) << r.out;
    EXPECT_NE(r.out.find("\"checkpoint_logits_equal\": true"), std::string::npos) << r.out;
    EXPECT_GT(json_number(r.out, "checkpoint_restore_ms"), 0) << r.out;
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, LlmSessionBench, ::testing::Values("cpu", "cuda"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace
}  // namespace samepage
