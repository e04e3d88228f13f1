// The float64 reference (tests/llm/reference_forward.py) on the real model:
// before anything is compared against it, it must itself be right, and
// SmolLM2-135M-Instruct completes "The capital of France is" with " Paris".
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "test_paths.h"
#include "wasm_test_helpers.h"

namespace {

TEST(ReferenceForward, SmolLM2ContinuesTheCapitalOfFranceWithParis) {
  const char* py = std::getenv("SAMEPAGE_PYTHON");
  const char* models = std::getenv("SAMEPAGE_MODEL_DIR");
  if (py == nullptr || models == nullptr) {
    GTEST_SKIP() << "SAMEPAGE_PYTHON or SAMEPAGE_MODEL_DIR unset (scripts/test.sh sets both)";
  }
  const std::string model = std::string(models) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  const std::string json = samepage::wasm_test::temp_dir() + "/paris.json";
  const std::string script =
      samepage::test::beside_test_binary(SAMEPAGE_TEST_LLM_SCRIPTS_DIR) + "/reference_forward.py";
  // The words' byte-level tokens; the script fails if one is not in the vocabulary.
  std::string out;
  ASSERT_EQ(samepage::wasm_test::run_command(std::string("'") + py + "' '" + script + "' --model '" + model +
                                                 "' --tokens 'The,Ġcapital,Ġof,ĠFrance,Ġis' --greedy 3 --out '" +
                                                 json + "'",
                                             &out),
            0)
      << out;
  std::ifstream in(json);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"prompt_ids\": [504, 3575, 282, 4649, 314]"), std::string::npos) << text.substr(0, 300);
  EXPECT_NE(text.find("\"ids\": [7042,"), std::string::npos);  // "ĠParis"
  EXPECT_NE(text.find("\"text\": \" Paris"), std::string::npos);
}

}  // namespace
