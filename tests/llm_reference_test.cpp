// The LLM guest against an independent float64 forward pass
// (tests/llm/reference_forward.py: the gguf package's dequantization and a
// NumPy transformer written separately from the guest), on the real model.
// Needs SAMEPAGE_MODEL_DIR and SAMEPAGE_PYTHON (scripts/test.sh sets both).
//
// Tolerances, measured: the host's matmul quantizes activations to 8 bits
// for quantized weights (as llama.cpp does) and the KV cache is f16, so over
// 30 layers SmolLM2's logits differ from float64 by rms ~0.22 and at most
// ~0.9 (logits spread with std ~3.6); one token alone: rms 0.14, max 0.48.
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace samepage {
namespace {

constexpr double kMaxAbsLogitError = 1.5;
constexpr double kRmsLogitError = 0.35;
// A greedy step may pick another token only where the reference's top two
// logits are closer than this (about twice the rms error).
constexpr double kTop2GapTolerance = 0.5;

// The numbers of the JSON array after "key": (flat arrays only).
std::vector<double> json_array(const std::string& json, const std::string& key, size_t from = 0) {
  std::vector<double> out;
  size_t at = json.find("\"" + key + "\":", from);
  if (at == std::string::npos) return out;
  at = json.find('[', at);
  const size_t end = json.find(']', at);
  const char* p = json.c_str() + at + 1;
  const char* stop = json.c_str() + end;
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

TEST(LlmGuestReference, RealModelLogitsAndGreedyTokens) {
  const char* model_dir = std::getenv("SAMEPAGE_MODEL_DIR");
  const char* python = std::getenv("SAMEPAGE_PYTHON");
  if (model_dir == nullptr || python == nullptr)
    GTEST_SKIP() << "SAMEPAGE_MODEL_DIR or SAMEPAGE_PYTHON is unset (scripts/test.sh sets both)";
  const std::string model = std::string(model_dir) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  const std::string script = test::test_data_dir() + "/../llm/reference_forward.py";
  ASSERT_TRUE(std::filesystem::exists(script)) << script;
  const std::string dir = test::make_temp_dir();
  const std::string prompt = "504 3575 282 4649 314";  // "The capital of France is"
  const int n = 64;

  std::string cmd = std::string("'") + python + "' '" + script + "' --model '" + model +
                    "' --ids 504,3575,282,4649,314 --greedy " + std::to_string(n) + " --out " + dir + "/ref.json >" +
                    dir + "/ref.log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << test::read_text(dir + "/ref.log");
  cmd = test::samepage_binary() + " generate -m '" + model + "' --ids -p '" + prompt + "' -n " + std::to_string(n) +
        " --dump-logits " + dir + "/guest.bin >" + dir + "/guest.txt 2>" + dir + "/guest.err";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << test::read_text(dir + "/guest.err");

  const std::string ref = test::read_text(dir + "/ref.json");
  const std::vector<double> last = json_array(ref, "last_logits");
  const size_t greedy_at = ref.find("\"greedy\":");
  const std::vector<double> ref_ids = json_array(ref, "ids", greedy_at);
  const std::vector<double> gaps = json_array(ref, "top2_gap", greedy_at);
  ASSERT_EQ(last.size(), 49152u);
  ASSERT_EQ(ref_ids.size(), size_t(n));
  ASSERT_EQ(gaps.size(), size_t(n));

  // Step 0's logits (after the prompt) against the reference's.
  std::ifstream bin(dir + "/guest.bin", std::ios::binary);
  std::vector<float> guest(last.size());
  bin.read(reinterpret_cast<char*>(guest.data()), long(guest.size() * sizeof(float)));
  ASSERT_TRUE(bin.good());
  double max_err = 0, sum_sq = 0;
  for (size_t i = 0; i < last.size(); ++i) {
    const double e = std::fabs(double(guest[i]) - last[i]);
    max_err = std::max(max_err, e);
    sum_sq += e * e;
  }
  const double rms = std::sqrt(sum_sq / double(last.size()));
  EXPECT_LE(max_err, kMaxAbsLogitError);
  EXPECT_LE(rms, kRmsLogitError);

  // 64 greedy tokens: equal up to the first step whose reference top-2 gap is
  // within the tolerance (after a justified divergence the texts differ).
  std::vector<int> guest_ids;
  std::ifstream ids(dir + "/guest.txt");
  for (int id; ids >> id;) guest_ids.push_back(id);
  ASSERT_EQ(guest_ids.size(), size_t(n));
  int matched = 0;
  for (int s = 0; s < n; ++s, ++matched) {
    if (guest_ids[size_t(s)] == int(ref_ids[size_t(s)])) continue;
    EXPECT_LT(gaps[size_t(s)], kTop2GapTolerance)
        << "step " << s << ": guest " << guest_ids[size_t(s)] << ", reference " << ref_ids[size_t(s)];
    break;
  }
  std::printf("[ logits ] max abs error %.3f, rms %.3f; greedy: %d of %d steps equal before a tie-range step\n",
              max_err, rms, matched, n);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace samepage
