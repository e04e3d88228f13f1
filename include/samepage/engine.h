// The engine: turns a WebAssembly module into something samepage can
// instantiate. wasm2c translates it to C, the system C compiler builds a
// shared object (cached by content hash and flags), and the loader opens it
// through a fixed C ABI (DESIGN.md §4).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "samepage/host_import.h"
#include "samepage/module_info.h"
#include "samepage/status.h"

namespace samepage {

// What translating and compiling one module may cost. The counts are checked
// on the parsed module before wasm2c runs; time and memory are enforced on
// the tool processes. Measured on a busy 2-core Debian 12 VM (wasm2c 1.0.32,
// gcc 12 -O2) with modules of tiny functions: 10,000 → 1.9 s translate +
// 1.1 s compile, 20,000 → 6.6 + 2.1 s, 40,000 → 48 + 5 s (wasm2c is
// quadratic in the function count); data costs ~2 s and ~155 MB of compiler
// memory per MiB (8 MiB: 16 s, 1.3 GB). Real guests (a C++ LLM control
// plane: a few MB, far fewer functions, little data) fit with room to spare.
struct CompileLimits {
  uint64_t module_bytes = uint64_t{64} << 20;  // whole .wasm, custom sections included (--max-module-mb)
  uint32_t functions = 50000;                  // defined functions: ~80 s to build at the limit (--max-functions)
  uint64_t data_bytes = uint64_t{16} << 20;    // all data segments: ~2.5 GB of compiler memory (--max-data-mb)
  uint32_t timeout_s = 120;                    // wall clock for translation plus compilation (--compile-timeout)
  uint64_t tool_memory_bytes = uint64_t{4} << 30;  // address space of each tool process (--compile-memory-mb)
};

struct EngineOptions {
  std::string cache_dir;           // empty: $SAMEPAGE_CACHE_DIR, $XDG_CACHE_HOME/samepage, ~/.cache/samepage
  std::string wasm2c;              // empty: $SAMEPAGE_WASM2C or wasm2c in PATH
  std::string cc;                  // empty: $SAMEPAGE_CC or cc in PATH
  std::string opt_level = "-O2";
  bool use_cache = true;
  // Load native artifacts (`samepage compile` output) given to load_file.
  // Off: an artifact is native code that runs as soon as it is mapped, so
  // only an operator who trusts where it came from may allow it (Wasmtime's
  // --allow-precompiled).
  bool allow_precompiled = false;
  CompileLimits limits;
  // The functions the host offers to guests; a module importing anything
  // else is refused before translation. The engine knows no import of its
  // own: the runtime's list is samepage::host_imports() (instance.h).
  std::vector<HostImport> host_imports;
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
  // its ELF magic; refused unless options.allow_precompiled). Unknown
  // imports, SIMD/threads, malformed modules and modules over the compile
  // limits are refused with a message naming the problem.
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
Status check_imports(const std::vector<ImportInfo>& imports, const std::vector<HostImport>& host_imports);

// Why a module of `n_bytes` described by `info` is over `limits` (naming the
// limit and its flag), or an ok status.
Status check_compile_limits(const ModuleInfo& info, uint64_t n_bytes, const CompileLimits& limits);

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path);

}  // namespace samepage
