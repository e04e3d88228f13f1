// A backend's counters as the CLI prints them (`generate --backend-stats`):
// one JSON line whatever the names and values hold, and the backend options
// that replace environment switches (native_replay, overlap_launches).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "samepage/backend.h"

namespace samepage {
namespace {

TEST(BackendStats, OneJsonLineWithUnitsInTheNames) {
  const std::string json = backend_stats_json(
      "cuda", {{"host_register_s", 0.25}, {"const_upload_bytes", 2471001088.0}, {"graph_capture_count", 1}});
  EXPECT_EQ(json,
            "{\"backend_stats\":{\"backend\":\"cuda\",\"host_register_s\":0.25,"
            "\"const_upload_bytes\":2.471e+09,\"graph_capture_count\":1}}");
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(BackendStats, NamesCannotBreakTheJsonAndNonFiniteValuesAreNull) {
  const std::string json =
      backend_stats_json("c\"u\nda", {{"a\"b\\c", std::numeric_limits<double>::quiet_NaN()},
                                      {"", std::numeric_limits<double>::infinity()}});
  EXPECT_EQ(json, "{\"backend_stats\":{\"backend\":\"cuda\",\"abc\":null,\"unnamed\":null}}");
}

TEST(BackendStats, TheCpuBackendHasNoneAndNoBackendKeepsAnEnvironmentSwitch) {
  auto cpu = create_backend("cpu");
  ASSERT_TRUE(cpu.is_ok()) << cpu.message();
  EXPECT_TRUE(cpu.value()->stats().empty());
  EXPECT_EQ(backend_stats_json("cpu", {}), "{\"backend_stats\":{\"backend\":\"cpu\"}}");
  // The options default to the fast paths; turning them off is the caller's choice, by value.
  const BackendOptions defaults;
  EXPECT_TRUE(defaults.native_replay);
  EXPECT_TRUE(defaults.overlap_launches);
}

}  // namespace
}  // namespace samepage
