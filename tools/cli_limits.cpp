// The compile-limit flags shared by run, compile and inspect.
#include <cstdlib>

#include "cli.h"

namespace samepage::cli {

// The defaults come from CompileLimits itself, so the help never drifts from them.
std::string compile_limits_usage() {
  const CompileLimits d;
  return "  --max-module-mb N       refuse modules larger than N MiB (default " + std::to_string(d.module_bytes >> 20) +
         ")\n"
         "  --max-functions N       refuse modules defining more than N functions (default " +
         std::to_string(d.functions) + ")\n"
         "  --max-data-mb N         refuse modules with more than N MiB of data segments (default " +
         std::to_string(d.data_bytes >> 20) + ")\n"
         "  --compile-timeout S     translation plus compilation may take S seconds (default " +
         std::to_string(d.timeout_s) + "; 0: no limit)\n"
         "  --compile-memory-mb N   address space of wasm2c and of the C compiler (default " +
         std::to_string(d.tool_memory_bytes >> 20) + "; 0: no limit)\n";
}

namespace {

bool parse_count(const std::string& text, uint64_t max, uint64_t* out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 12) return false;
  *out = std::strtoull(text.c_str(), nullptr, 10);
  return *out <= max;
}

}  // namespace

int parse_compile_limit_flag(const Args& args, size_t& i, CompileLimits& limits, std::string* error) {
  const std::string& flag = args[i];
  uint64_t* bytes_field = nullptr;
  if (flag == "--max-module-mb") bytes_field = &limits.module_bytes;
  else if (flag == "--max-data-mb") bytes_field = &limits.data_bytes;
  else if (flag == "--compile-memory-mb") bytes_field = &limits.tool_memory_bytes;
  else if (flag != "--max-functions" && flag != "--compile-timeout") return 0;
  uint64_t value = 0;
  const uint64_t max = bytes_field != nullptr ? (uint64_t{1} << 40) : 0xffffffffu;
  if (i + 1 >= args.size() || !parse_count(args[i + 1], max, &value)) {
    *error = flag + " needs a whole number";
    return -1;
  }
  ++i;
  if (bytes_field != nullptr) *bytes_field = value << 20;
  else if (flag == "--max-functions") limits.functions = static_cast<uint32_t>(value);
  else limits.timeout_s = static_cast<uint32_t>(value);
  return 1;
}

}  // namespace samepage::cli
