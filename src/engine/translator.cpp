#include "engine/translator.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "engine/glue_writer.h"
#include "engine/module_rewriter.h"
#include "engine/wasm_reader.h"

namespace samepage {
namespace {

Status write_file(const std::string& path, const char* data, size_t n_bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(data, static_cast<std::streamsize>(n_bytes));
  if (!out) return err("engine::translate", "cannot write " + path);
  return Status::ok();
}

}  // namespace

ToolLimits tool_limits(const CompileLimits& limits, std::chrono::steady_clock::time_point deadline) {
  ToolLimits tool;
  tool.deadline = deadline;
  // CPU time too: it still holds if samepage dies and nobody enforces the deadline.
  tool.cpu_seconds = limits.timeout_s == 0 ? 0 : limits.timeout_s + 1;
  tool.address_space_bytes = limits.tool_memory_bytes;
  return tool;
}

Status tool_failure(const char* where, const std::string& doing, const ToolRun& run, const CompileLimits& limits) {
  const std::string seconds = std::to_string(limits.timeout_s) + " s";
  if (run.timed_out) return err(where, doing + " exceeded its " + seconds + " limit (--compile-timeout)");
  if (run.signal == SIGXCPU)
    return err(where, doing + " exceeded its CPU-time limit of " + seconds + " (--compile-timeout)");
  std::string message = doing + " failed (" + run.how_it_ended() + ")";
  // Out of address space shows as a crash or an allocation failure message.
  if (limits.tool_memory_bytes != 0 &&
      (run.signal != 0 || run.output.find("memory") != std::string::npos))
    message += "; it may have hit its " + std::to_string(limits.tool_memory_bytes >> 20) +
               " MiB memory limit (--compile-memory-mb)";
  const std::string summary = tool_output_summary(run.output);
  if (!summary.empty()) message += ":\n" + summary;
  return err(where, message);
}

Result<TranslatedModule> translate_module(const std::vector<uint8_t>& wasm, const ModuleInfo& info,
                                          const std::string& wasm_sha256, const std::string& work_dir,
                                          const std::string& wasm2c, const CompileLimits& limits,
                                          std::chrono::steady_clock::time_point deadline) {
  const char* where = "engine::translate";
  auto rewritten = rewrite_for_translation(wasm);
  if (!rewritten) return rewritten.status();
  const std::string wasm_path = work_dir + "/module.wasm";
  SP_TRY(write_file(wasm_path, reinterpret_cast<const char*>(rewritten->data()), rewritten->size()));

  TranslatedModule out;
  out.c_path = work_dir + "/" + kGuestModuleName + ".c";
  auto run = run_tool({wasm2c, "-n", kGuestModuleName, wasm_path, "-o", out.c_path}, tool_limits(limits, deadline));
  if (!run) return run.status();
  if (!run->succeeded()) return tool_failure(where, "translating the module (wasm2c)", run.value(), limits);

  std::ifstream header_in(work_dir + "/" + kGuestModuleName + ".h");
  std::stringstream header;
  header << header_in.rdbuf();
  std::ifstream source_in(out.c_path);
  std::stringstream source;
  source << source_in.rdbuf();
  auto glue = write_glue(header.str(), info, wasm_sha256, source.str());
  if (!glue) return glue.status();
  out.glue_path = work_dir + "/samepage_glue.c";
  SP_TRY(write_file(out.glue_path, glue->data(), glue->size()));
  return out;
}

}  // namespace samepage
