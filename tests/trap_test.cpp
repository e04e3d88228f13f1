#include "test_support.h"

namespace samepage {
namespace {

struct TrapCase {
  const char* arg;
  const char* message;
};

class GuestTrap : public ::testing::TestWithParam<TrapCase> {};

TEST_P(GuestTrap, EndsTheGuestWithItsMessageAndTheHostGoesOn) {
  auto module = test::load_guest("traps");
  ASSERT_TRUE(module);
  auto run = test::run_captured(module, test::with_args({"traps", GetParam().arg}));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_EQ(run.outcome->kind, GuestOutcome::Kind::Kind_trapped);
  EXPECT_NE(run.outcome->message.find(GetParam().message), std::string::npos) << run.outcome->message;
  // The host survives and runs the next guest.
  auto next = test::run_captured(module, test::with_args({"traps", "ok"}));
  ASSERT_TRUE(next.outcome.is_ok()) << next.outcome.message();
  EXPECT_EQ(next.outcome->kind, GuestOutcome::Kind::Kind_returned);
  EXPECT_EQ(next.stdout_text, "ok\n");
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, GuestTrap,
    ::testing::Values(TrapCase{"oob", "out of bounds memory access"},
                      TrapCase{"div0", "integer divide by zero"},
                      TrapCase{"overflow", "integer overflow"},
                      TrapCase{"unreachable", "unreachable"},
                      TrapCase{"stack", "call stack exhausted"},
                      TrapCase{"null_call", "bad indirect call"},
                      TrapCase{"bad_signature", "bad indirect call"}),
    [](const ::testing::TestParamInfo<TrapCase>& info) { return std::string(info.param.arg); });

TEST(GuestExit, ProcExitEndsWithItsCode) {
  auto module = test::load_guest("traps");
  ASSERT_TRUE(module);
  auto run = test::run_captured(module, test::with_args({"traps", "exit", "7"}));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_EQ(run.outcome->kind, GuestOutcome::Kind::Kind_exited);
  EXPECT_EQ(run.outcome->exit_code, 7u);
}

TEST(GuestExit, GrowingMemoryWorks) {
  auto module = test::load_guest("traps");
  ASSERT_TRUE(module);
  auto run = test::run_captured(module, test::with_args({"traps", "grow"}));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_EQ(run.stdout_text, "grew ok\n");
}

TEST(GuestTrapExport, TrappedInstanceRefusesFurtherCalls) {
  auto module = test::load_guest("exports");
  ASSERT_TRUE(module);
  auto instance = Instance::create(module, {});
  ASSERT_TRUE(instance.is_ok());
  auto boom = instance.value()->call("boom");
  ASSERT_TRUE(boom.is_ok());
  EXPECT_TRUE(boom->trapped());
  auto after = instance.value()->call("add", {1, 2});
  ASSERT_FALSE(after.is_ok());
  EXPECT_NE(after.message().find("already ended"), std::string::npos);
  // Another instance of the same module is unaffected.
  auto fresh = Instance::create(module, {});
  ASSERT_TRUE(fresh.is_ok());
  auto sum = fresh.value()->call("add", {1, 2});
  ASSERT_TRUE(sum.is_ok());
  EXPECT_EQ(sum->result, 3u);
}

}  // namespace
}  // namespace samepage
