// The engine: turns a WebAssembly module into something samepage can
// instantiate. wasm2c translates it to C, the system C compiler builds a
// shared object (cached by content hash and flags), and the loader opens it
// through a fixed C ABI (DESIGN.md §4).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "samepage/module_info.h"
#include "samepage/status.h"

namespace samepage {

struct EngineOptions {
  std::string cache_dir;           // empty: $SAMEPAGE_CACHE_DIR, $XDG_CACHE_HOME/samepage, ~/.cache/samepage
  std::string wasm2c;              // empty: $SAMEPAGE_WASM2C or wasm2c in PATH
  std::string cc;                  // empty: $SAMEPAGE_CC or cc in PATH
  std::string opt_level = "-O2";
  bool use_cache = true;
};

// How a module came to be loaded, for `run --timing` and the cache benchmark.
struct LoadStats {
  bool cache_hit = false;
  bool precompiled = false;  // loaded from a `samepage compile` artifact
  double read_ms = 0, parse_ms = 0, translate_ms = 0, compile_ms = 0, load_ms = 0;
  std::string artifact_path;
};

class LoadedModule;  // opaque: the dlopen'ed artifact

// A module ready to be instantiated, shared by all its instances.
class Module {
 public:
  const ModuleInfo& info() const { return info_; }
  const LoadStats& stats() const { return stats_; }
  const LoadedModule& loaded() const { return *loaded_; }
  const std::string& name() const { return name_; }

 private:
  friend class Engine;
  std::string name_;
  ModuleInfo info_;
  LoadStats stats_;
  std::shared_ptr<LoadedModule> loaded_;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});

  // Loads a .wasm module, or an artifact made by compile_to (recognised by
  // its ELF magic). Unknown imports, SIMD/threads and malformed modules are
  // refused with a message naming the problem.
  Result<std::shared_ptr<Module>> load_file(const std::string& path);
  Result<std::shared_ptr<Module>> load_bytes(const std::vector<uint8_t>& wasm, const std::string& name);

  // Ahead-of-time: builds the shared object for a .wasm and copies it to out_path.
  Status compile_to(const std::string& wasm_path, const std::string& out_path);

  const EngineOptions& options() const { return options_; }

 private:
  Result<std::shared_ptr<Module>> load_artifact(const std::string& path);
  EngineOptions options_;
};

// Checks every import against what the host provides (name and type).
Status check_imports(const std::vector<ImportInfo>& imports);

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path);

}  // namespace samepage
