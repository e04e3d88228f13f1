// wasm → C (wasm2c) → shared object (system C compiler), cached by content.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/artifact_file.h"
#include "samepage/engine.h"
#include "samepage/module_info.h"

namespace samepage {

struct BuiltArtifact {
  std::string path;       // the shared object, for messages and --timing
  UniqueFd file;           // the shared object, opened and checked (artifact_file.h): load this
  bool cache_hit = false;
  double translate_ms = 0;
  double compile_ms = 0;
};

// Builds (or finds in the cache) the shared object for a parsed, runnable
// module within options.limits. A cache entry that is a symlink, another
// user's, or writable by others is refused, never loaded.
Result<BuiltArtifact> build_artifact(const std::vector<uint8_t>& wasm, const ModuleInfo& info,
                                     const EngineOptions& options);

// Resolved tool locations and cache directory (options, then environment, then defaults).
std::string resolve_cache_dir(const EngineOptions& options);
std::string resolve_wasm2c(const EngineOptions& options);
std::string resolve_cc(const EngineOptions& options);
// Where wasm-rt.h (WABT's header; samepage implements it) is found when a
// guest is compiled; the first that holds it wins: $SAMEPAGE_WASM_RT_INCLUDE;
// wasm-rt/ beside libsamepage_core (the build copies the header it was
// configured with there, so a carried build tree brings its own); WABT's own
// layout beside the wasm2c in use (bin/../include); /usr/local/include,
// /usr/include. No build-machine path is compiled in.
Result<std::string> resolve_wasm_rt_include(const EngineOptions& options);

}  // namespace samepage
