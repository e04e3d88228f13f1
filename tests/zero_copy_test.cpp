// The zero-copy proof through real guests: `samepage bench zero-copy` and the
// SDK tour, as a user runs them.
#include <sys/wait.h>

#include <filesystem>

#include "test_support.h"

namespace samepage {
namespace {

std::string run_command(const std::string& cmd, int* exit_code) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

double number(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return -1e300;
  return std::atof(json.c_str() + at + key.size() + 4);
}

TEST(ZeroCopy, BenchShowsPointerIdentityAndNoRssGrowth) {
  int rc = 0;
  const std::string out = run_command(test::samepage_binary() + " bench zero-copy --size-mb 16 --repeats 3 --json", &rc);
  ASSERT_EQ(rc, 0) << out;
  const size_t split = out.find('\n');
  ASSERT_NE(split, std::string::npos) << out;
  const std::string shared = out.substr(0, split), copy = out.substr(split + 1);
  ASSERT_NE(shared.find("\"mode\": \"shared\""), std::string::npos) << out;
  ASSERT_NE(copy.find("\"mode\": \"copy\""), std::string::npos) << out;
  EXPECT_NE(shared.find("\"pointer_identity\": true"), std::string::npos) << shared;
  EXPECT_NE(copy.find("\"pointer_identity\": false"), std::string::npos) << copy;
  EXPECT_EQ(number(shared, "element_errors"), 0) << shared;
  EXPECT_EQ(number(copy, "element_errors"), 0) << copy;
  // Shared mode adds (almost) nothing; copy mode stages the 16 MiB of weights and more.
  EXPECT_LT(number(shared, "rss_delta_bytes"), 1 << 20) << shared;
  EXPECT_EQ(number(shared, "staged_bytes"), 0) << shared;
  EXPECT_GE(number(copy, "staged_bytes"), 16 << 20) << copy;
  EXPECT_GT(number(copy, "rss_delta_bytes"), 15 << 20) << copy;
}

TEST(ZeroCopy, SdkTourRunsAndConstViewsAreWriteProtected) {
  auto module = test::load_guest("api_tour");
  ASSERT_TRUE(module);
  auto tour = test::run_captured(module, test::with_args({"api_tour"}));
  ASSERT_TRUE(tour.outcome.is_ok()) << tour.outcome.message();
  EXPECT_EQ(tour.outcome->kind, GuestOutcome::Kind::Kind_returned) << tour.stdout_text;
  EXPECT_NE(tour.stdout_text.find("api_tour ok"), std::string::npos) << tour.stdout_text;
  auto write = test::run_captured(module, test::with_args({"api_tour", "const_write"}));
  ASSERT_TRUE(write.outcome.is_ok()) << write.outcome.message();
  EXPECT_TRUE(write.outcome->trapped()) << write.stdout_text;
  EXPECT_NE(write.outcome->message.find("read-only"), std::string::npos) << write.outcome->message;
}

}  // namespace
}  // namespace samepage
