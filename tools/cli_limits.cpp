// The limit flags: compile limits (run, compile, inspect) and guest limits (run).
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

// A decimal count in [min, max]; false when malformed or out of range.
bool parse_count(const std::string& text, uint64_t min, uint64_t max, uint64_t* out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19) return false;
  *out = std::strtoull(text.c_str(), nullptr, 10);
  return *out >= min && *out <= max;
}

// "500ms", "2s", "1m" → milliseconds; 0 when malformed or zero.
uint64_t parse_duration_ms(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return 0;
  const uint64_t n = std::strtoull(text.substr(0, digits).c_str(), nullptr, 10);
  const std::string unit = text.substr(digits);
  if (unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60000;
  return 0;
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
  if (i + 1 >= args.size() || !parse_count(args[i + 1], 0, max, &value)) {
    *error = flag + " needs a whole number";
    return -1;
  }
  ++i;
  if (bytes_field != nullptr) *bytes_field = value << 20;
  else if (flag == "--max-functions") limits.functions = static_cast<uint32_t>(value);
  else limits.timeout_s = static_cast<uint32_t>(value);
  return 1;
}

int parse_guest_limit_flag(const Args& args, size_t& i, GuestLimits& limits, std::string* error) {
  const std::string& flag = args[i];
  if (flag == "--timeout") {
    const uint64_t ms = i + 1 < args.size() ? parse_duration_ms(args[i + 1]) : 0;
    if (ms == 0) {
      *error = "--timeout needs a duration such as 500ms, 2s or 1m";
      return -1;
    }
    ++i;
    limits.timeout_ms = ms;
    return 1;
  }
  if (flag != "--max-host-mb" && flag != "--max-table-elements" && flag != "--max-fds" && flag != "--max-const-ranges")
    return 0;
  const uint64_t max = flag == "--max-host-mb" ? (uint64_t{1} << 44) : UINT32_MAX;
  uint64_t n = 0;
  if (i + 1 >= args.size() || !parse_count(args[i + 1], 1, max, &n)) {
    *error = flag + " needs a whole number from 1 to " + std::to_string(max);
    return -1;
  }
  ++i;
  if (flag == "--max-host-mb") limits.host_bytes = n << 20;
  else if (flag == "--max-table-elements") limits.table_elements = static_cast<uint32_t>(n);
  else if (flag == "--max-fds") limits.open_fds = static_cast<uint32_t>(n);
  else limits.const_ranges = static_cast<uint32_t>(n);
  return 1;
}

}  // namespace samepage::cli
