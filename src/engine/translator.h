// wasm → C: rewrites the module so that none of its names can reach C text
// (module_rewriter.h), runs wasm2c on the result under the compile limits,
// and writes the glue next to wasm2c's output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/subprocess.h"
#include "samepage/engine.h"
#include "samepage/module_info.h"

namespace samepage {

// What translate_module left in the work directory.
struct TranslatedModule {
  std::string c_path;     // wasm2c's output (guest.c; guest.h beside it)
  std::string glue_path;  // samepage_glue.c
};

// The limits a tool runs under for a build that must end by `deadline`.
ToolLimits tool_limits(const CompileLimits& limits, std::chrono::steady_clock::time_point deadline);

// A tool that did not succeed, as a message: a time or CPU limit names its
// flag; any output is shown only as tool_output_summary.
// `doing`: "translating the module", "compiling the module".
Status tool_failure(const char* where, const std::string& doing, const ToolRun& run, const CompileLimits& limits);

// Translates `wasm` (parsed as `info`, runnable, imports checked) into
// `work_dir`. `wasm_sha256` is embedded in the glue.
Result<TranslatedModule> translate_module(const std::vector<uint8_t>& wasm, const ModuleInfo& info,
                                          const std::string& wasm_sha256, const std::string& work_dir,
                                          const std::string& wasm2c, const CompileLimits& limits,
                                          std::chrono::steady_clock::time_point deadline);

}  // namespace samepage
