// The one list of backends samepage knows. Order is preference: the first
// available backend is the default where a caller asks for "best".
#include "backends/backend_entries.h"

#include <cmath>
#include <cstdio>

namespace samepage {

const std::vector<BackendEntry>& backend_registry() {
  static const std::vector<BackendEntry> entries = {
      {"cpu", cpu_backend_probe, cpu_backend_create},
      {"cuda", cuda_backend_probe, cuda_backend_create},  // backends/no_cuda when not built
  };
  return entries;
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const BackendEntry& e : backend_registry()) names.push_back(e.name);
  return names;
}

Result<std::unique_ptr<Backend>> create_backend(const std::string& name, const BackendOptions& options) {
  if (options.n_threads < 0 || options.n_threads > kMaxBackendThreads)
    return err("backend", "thread count must be 0 (all CPUs) to " + std::to_string(kMaxBackendThreads) + ", got " +
                              std::to_string(options.n_threads));
  for (const BackendEntry& e : backend_registry()) {
    if (name != e.name) continue;
    BackendProbe probe = e.probe();
    if (!probe.available) return err("backend", "backend '" + name + "' is unavailable: " + probe.unavailable);
    return e.create(options);
  }
  std::string known;
  for (const std::string& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
  return err("backend", "no backend named '" + name + "' (known: " + known + ")");
}

std::string backend_stats_json(const std::string& backend, const std::vector<BackendStat>& stats) {
  auto name_text = [](const std::string& name) {
    std::string out;
    for (char c : name)
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') out += c;
    return out.empty() ? std::string("unnamed") : out;
  };
  std::string out = "{\"backend_stats\":{\"backend\":\"" + name_text(backend) + "\"";
  for (const BackendStat& s : stats) {
    char value[32] = "null";
    if (std::isfinite(s.value)) std::snprintf(value, sizeof value, "%.6g", s.value);
    out += ",\"" + name_text(s.name) + "\":" + value;
  }
  return out + "}}";
}

const char* memory_mode_name(MemoryMode mode) {
  return mode == MemoryMode::MemoryMode_shared ? "shared" : "copy";
}

const char* residency_name(Residency residency) {
  static const char* names[] = {"shared", "const", "device", "file_mapped"};
  return residency >= 0 && residency <= Residency_file_mapped ? names[residency] : "?";
}

const char* op_name(OpCode op) {
  static const char* names[] = {"matmul", "rmsnorm", "rope",    "attention", "silu_mul", "add",
                                "scale",  "embedding", "softmax", "argmax",    "copy",     "set_rows",
                                "get_rows"};
  static_assert(sizeof(names) / sizeof(names[0]) == OpCode_count);
  return op >= 0 && op < OpCode_count ? names[op] : "?";
}

}  // namespace samepage
