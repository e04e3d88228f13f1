// Runs a tool (wasm2c, the C compiler) and captures what it printed.
#pragma once

#include <string>
#include <vector>

#include "samepage/status.h"

namespace samepage {

// Runs argv[0] (searched in PATH) with stdout and stderr captured together.
// Fails with the tool's output when it cannot start or exits non-zero.
Result<std::string> run_tool(const std::vector<std::string>& argv);

}  // namespace samepage
