// samepage command-line interface: one function per command.
#pragma once

#include <string>
#include <vector>

#include "samepage/engine.h"
#include "samepage/limits.h"

namespace samepage::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_compile(const Args& args);
int cmd_inspect(const Args& args);
int cmd_bench(const Args& args);
int cmd_devices(const Args& args);
int cmd_generate(const Args& args);
int cmd_tokenize(const Args& args);
int cmd_chat(const Args& args);

// One clear line on stderr; returns the exit code to use.
int fail(const std::string& message, int exit_code = 1);
bool wants_help(const Args& args);

// Usage lines for the compile-limit flags (cli_limits.cpp).
std::string compile_limits_usage();
// When args[i] is a compile-limit flag: applies it, advances i past its
// value and returns 1; on a bad value sets *error and returns -1; else 0.
int parse_compile_limit_flag(const Args& args, size_t& i, CompileLimits& limits, std::string* error);

// The same for the guest-limit flags of run (--max-*, --timeout).
int parse_guest_limit_flag(const Args& args, size_t& i, GuestLimits& limits, std::string* error);

}  // namespace samepage::cli
