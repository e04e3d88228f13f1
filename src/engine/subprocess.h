// Runs a tool (wasm2c, the C compiler) under limits and captures what it printed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "samepage/status.h"

namespace samepage {

struct ToolLimits {
  // The tool's process group is killed at this time (wall clock).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  uint64_t cpu_seconds = 0;          // RLIMIT_CPU of the tool and its children; 0: unlimited
  uint64_t address_space_bytes = 0;  // RLIMIT_AS of each of its processes; 0: unlimited
};

struct ToolRun {
  bool timed_out = false;  // killed at the deadline
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  std::string output;      // stdout and stderr together, at most kToolOutputKeptBytes

  bool succeeded() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exit code 1", "killed by signal 24 (CPU-time limit)", ...
  std::string how_it_ended() const;
};

constexpr size_t kToolOutputKeptBytes = 64 * 1024;

// The path of program `name` searched in PATH (as given when it holds a
// '/'), or "" when none is executable. run_tool resolves argv[0] with it in
// the parent: between fork and exec only async-signal-safe calls are allowed,
// and a PATH search allocates.
std::string find_program(const std::string& name);

// Runs argv[0] (searched in PATH) in its own process group, stdin from
// /dev/null, stdout and stderr captured together. Fails only when the tool
// cannot be started; how it ended is in the ToolRun.
Result<ToolRun> run_tool(const std::vector<std::string>& argv, const ToolLimits& limits = {});

// What may be shown of a tool's output: the first lines, at most about
// 1 KiB, every byte outside printable ASCII escaped as \xNN. Tool output can
// quote the module or files the compiler was tricked into reading, so it is
// never echoed whole.
std::string tool_output_summary(const std::string& output);

}  // namespace samepage
