// Where the tests find guests, the CLI and their data: paths the build
// recorded relative to the test binary (tests/CMakeLists.txt), so that a
// build tree carried to another machine (scripts/device_run.sh) finds them
// wherever it lands.
#pragma once

#include <filesystem>
#include <string>

namespace samepage::test {

inline std::string beside_test_binary(const char* relative) {
  static const std::filesystem::path dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  return (dir / relative).lexically_normal().string();
}

inline std::string guest_dir() { return beside_test_binary(SAMEPAGE_TEST_GUEST_DIR); }
inline std::string samepage_binary() { return beside_test_binary(SAMEPAGE_TEST_BINARY); }
inline std::string test_data_dir() { return beside_test_binary(SAMEPAGE_TEST_DATA_DIR); }

}  // namespace samepage::test
