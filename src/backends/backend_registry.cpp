#include "backends/backend_registry.h"

#include <map>

namespace samepage {
namespace {

std::map<std::string, BackendFactory>& registry() {
  static std::map<std::string, BackendFactory> factories;
  return factories;
}

}  // namespace

bool register_backend(const std::string& name, BackendFactory factory) {
  registry()[name] = std::move(factory);
  return true;
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

Result<std::unique_ptr<Backend>> create_backend(const std::string& name) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const std::string& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
    return err("backend", "no backend named '" + name + "' in this build (have: " + known + ")");
  }
  return it->second();
}

const char* memory_mode_name(MemoryMode mode) {
  return mode == MemoryMode::MemoryMode_shared ? "shared" : "copy";
}

const char* op_name(OpCode op) {
  static const char* names[] = {"matmul", "rmsnorm", "rope",    "attention", "silu_mul", "add",
                                "scale",  "embedding", "softmax", "argmax",    "copy", "set_rows"};
  return op >= 0 && op < OpCode_count ? names[op] : "?";
}

}  // namespace samepage
