// The translator and compiler run as child processes under limits: a wall
// clock that kills the whole process group, CPU time and address space.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "engine/subprocess.h"
#include "engine/translator.h"

namespace samepage {
namespace {

using Clock = std::chrono::steady_clock;

bool process_gone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    const size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(ToolProcess, DeadlineKillsTheWholeProcessGroup) {
  ToolLimits limits;
  limits.deadline = Clock::now() + std::chrono::seconds(1);
  const auto t0 = Clock::now();
  auto run = run_tool({"sh", "-c", "sleep 30 & echo $!; wait"}, limits);
  ASSERT_TRUE(run.is_ok()) << run.message();
  EXPECT_TRUE(run->timed_out);
  EXPECT_FALSE(run->succeeded());
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
  const pid_t grandchild = static_cast<pid_t>(std::atoi(run->output.c_str()));
  ASSERT_GT(grandchild, 0) << run->output;
  EXPECT_TRUE(process_gone(grandchild)) << "the tool's child outlived the deadline";
  CompileLimits compile;
  compile.timeout_s = 1;
  EXPECT_NE(tool_failure("t", "compiling the module", run.value(), compile).message().find(
                "compiling the module exceeded its 1 s limit (--compile-timeout)"),
            std::string::npos);
}

TEST(ToolProcess, CpuLimitStopsASpinningTool) {
  ToolLimits limits;
  limits.cpu_seconds = 1;
  limits.deadline = Clock::now() + std::chrono::seconds(30);
  auto run = run_tool({"sh", "-c", "while :; do :; done"}, limits);
  ASSERT_TRUE(run.is_ok()) << run.message();
  EXPECT_FALSE(run->timed_out);
  EXPECT_EQ(run->signal, SIGXCPU) << run->how_it_ended();
  EXPECT_NE(run->how_it_ended().find("CPU-time limit"), std::string::npos);
}

TEST(ToolProcess, AddressSpaceLimitHolds) {
  ToolLimits limits;
  limits.address_space_bytes = uint64_t{256} << 20;
  auto run = run_tool({"/usr/bin/python3", "-c", "b = bytearray(1 << 30); print('allocated')"}, limits);
  ASSERT_TRUE(run.is_ok()) << run.message();
  EXPECT_FALSE(run->succeeded());
  EXPECT_EQ(run->output.find("allocated"), std::string::npos) << run->output;
}

TEST(ToolProcess, SucceedsAndCapturesOutput) {
  auto run = run_tool({"sh", "-c", "echo out; echo err >&2"});
  ASSERT_TRUE(run.is_ok()) << run.message();
  EXPECT_TRUE(run->succeeded());
  EXPECT_NE(run->output.find("out"), std::string::npos);
  EXPECT_NE(run->output.find("err"), std::string::npos);
  EXPECT_FALSE(run_tool({"no-such-tool-anywhere"}).is_ok());
}

TEST(ToolProcess, OutputSummaryIsBoundedAndEscaped) {
  std::string output;
  for (int i = 0; i < 100; ++i) output += "line " + std::to_string(i) + " \033[31m\x01\xff\n";
  const std::string summary = tool_output_summary(output);
  int lines = 0;
  for (char c : summary) lines += c == '\n';
  EXPECT_LE(lines, 8) << summary;
  EXPECT_LT(summary.size(), 1200u) << summary;
  for (unsigned char c : summary) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << static_cast<int>(c);
  EXPECT_NE(summary.find("\\x1b"), std::string::npos);
  EXPECT_NE(summary.find("more bytes not shown"), std::string::npos);
  EXPECT_EQ(tool_output_summary(std::string(5000, 'x')).size() < 1100, true);
}

}  // namespace
}  // namespace samepage
