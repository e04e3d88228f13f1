// The default real model in tests: SmolLM2-135M-Instruct, which
// scripts/test.sh fetches (scripts/fetch_model.sh) and names in
// $SAMEPAGE_MODEL_DIR. A developer running the test binary by hand without
// it gets a skip that says so; a missing file under a set directory fails.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace samepage::test {

constexpr const char* kRealModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// "" when SAMEPAGE_MODEL_DIR is unset.
inline std::string real_model_path() {
  const char* dir = std::getenv("SAMEPAGE_MODEL_DIR");
  if (dir == nullptr || *dir == '\0') return "";
  return std::string(dir) + "/" + kRealModelFile;
}

}  // namespace samepage::test

#define REQUIRE_REAL_MODEL(path)                                                                \
  const std::string path = ::samepage::test::real_model_path();                               \
  if (path.empty()) GTEST_SKIP() << "SAMEPAGE_MODEL_DIR is unset (scripts/test.sh sets it)";   \
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/fetch_model.sh"
