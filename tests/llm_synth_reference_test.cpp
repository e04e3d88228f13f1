// The LLM guest on synthetic models (samepage-synth-model, f32 weights and
// an f32 KV cache, so only float rounding differs) against the float64
// reference (tests/llm/reference_forward.py): Llama 3.1+ RoPE frequency
// factors (rope_freqs.weight, also against the same weights without them, to
// show they matter) and Qwen2's Q/K/V biases broadcast over a batch's rows.
// Needs SAMEPAGE_PYTHON (scripts/test.sh sets it).
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace samepage {
namespace {

// The numbers of the flat JSON array after "key":.
std::vector<double> json_numbers(const std::string& json, const std::string& key) {
  std::vector<double> out;
  size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return out;
  at = json.find('[', at);
  const char* p = json.c_str() + at + 1;
  const char* stop = json.c_str() + json.find(']', at);
  while (p < stop) {
    char* next = nullptr;
    const double v = std::strtod(p, &next);
    if (next == p) {
      ++p;
      continue;
    }
    out.push_back(v);
    p = next;
  }
  return out;
}

std::vector<float> read_floats(const std::string& path, size_t n) {
  std::vector<float> v(n);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), long(n * sizeof(float)));
  EXPECT_TRUE(in.good()) << path;
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < b.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

// A scratch directory with synthetic models, the reference and the guest.
class SynthReference : public ::testing::Test {
 protected:
  void SetUp() override {
    python_ = std::getenv("SAMEPAGE_PYTHON");
    if (python_ == nullptr) GTEST_SKIP() << "SAMEPAGE_PYTHON is unset (scripts/test.sh sets it)";
    dir_ = test::make_temp_dir();
  }
  void TearDown() override {
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }
  // Writes dir/name.gguf; the weights depend only on the seed and each tensor's name.
  void synth(const std::string& name, const std::string& flags) {
    const std::string cmd = "'" + test::beside_test_binary(SAMEPAGE_TEST_SYNTH_BINARY) + "' " + flags +
                            " --dtype f32 -o " + dir_ + "/" + name + ".gguf >" + dir_ + "/synth.log 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << test::read_text(dir_ + "/synth.log");
  }
  // The float64 logits after the prompt.
  std::vector<double> reference(const std::string& name) {
    std::string csv = kIds;
    for (char& c : csv) c = c == ' ' ? ',' : c;
    const std::string script = test::test_data_dir() + "/../llm/reference_forward.py";
    const std::string cmd = std::string("'") + python_ + "' '" + script + "' --model " + dir_ + "/" + name +
                            ".gguf --ids " + csv + " --out " + dir_ + "/ref.json >" + dir_ + "/ref.log 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << test::read_text(dir_ + "/ref.log");
    return json_numbers(test::read_text(dir_ + "/ref.json"), "last_logits");
  }
  // The guest's logits after the prompt (f32 KV cache), prefilled in batches of n_batch.
  std::vector<float> guest(const std::string& name, int n_batch, size_t n_vocab) {
    const std::string out = dir_ + "/" + name + "." + std::to_string(n_batch);
    const std::string run = test::samepage_binary() + " generate -m " + dir_ + "/" + name + ".gguf --ids -p '" + kIds +
                            "' -n 1 --kv-f32 --batch " + std::to_string(n_batch) + " --dump-logits " + out + ".bin >" +
                            out + ".txt 2>" + out + ".err";
    EXPECT_EQ(std::system(run.c_str()), 0) << test::read_text(out + ".err");
    return read_floats(out + ".bin", n_vocab);
  }

  static constexpr const char* kIds = "1 300 17 42 99 260 7 311 128 64 5 480 33 270 301 12 88 190 2 450 61 333 9 100";
  const char* python_ = nullptr;
  std::string dir_;
};

TEST_F(SynthReference, RopeFreqsDivideTheAngles) {
  // The same weights, with and without rope_freqs.weight.
  synth("tiny-llama3", "--shape tiny-llama3");
  synth("tiny", "--shape tiny");
  const std::vector<double> ref = reference("tiny-llama3");
  ASSERT_EQ(ref.size(), 512u);
  const std::vector<float> with = guest("tiny-llama3", 64, ref.size());
  const std::vector<float> without = guest("tiny", 64, ref.size());
  double spread = 0;
  for (double v : ref) spread = std::max(spread, std::fabs(v));
  const double err = max_abs_diff(with, ref), off = max_abs_diff(without, ref);
  EXPECT_LT(err, 1e-3 * spread) << "guest with factors vs float64 reference";
  EXPECT_GT(off, 100 * err) << "the factors should change the logits: without them the error is " << off;
  std::printf("[ rope_freqs ] |logits| up to %.3f; guest vs reference max error %.2e; without factors %.2e\n", spread,
              err, off);
}

TEST_F(SynthReference, Qwen2BiasesReachEveryRowOfABatch) {
  // One bias row added to all 24 prompt rows in one batch, and to batches of 5 (4 of 5 rows, one of 4).
  synth("qwen2", "--shape tiny --qkv-bias");
  const std::vector<double> ref = reference("qwen2");
  ASSERT_EQ(ref.size(), 512u);
  double spread = 0;
  for (double v : ref) spread = std::max(spread, std::fabs(v));
  for (int n_batch : {64, 5}) {
    const double err = max_abs_diff(guest("qwen2", n_batch, ref.size()), ref);
    EXPECT_LT(err, 1e-3 * spread) << "batches of " << n_batch;
    std::printf("[ qkv bias ] batches of %d: max error %.2e (|logits| up to %.3f)\n", n_batch, err, spread);
  }
}

}  // namespace
}  // namespace samepage
