// samepage command-line interface: one function per command.
#pragma once

#include <string>
#include <vector>

namespace samepage::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_compile(const Args& args);
int cmd_inspect(const Args& args);
int cmd_bench(const Args& args);
int cmd_devices(const Args& args);

// One clear line on stderr; returns the exit code to use.
int fail(const std::string& message, int exit_code = 1);
bool wants_help(const Args& args);

}  // namespace samepage::cli
