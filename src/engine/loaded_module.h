// A dlopen'ed guest artifact and the glue functions it exports.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/artifact_file.h"
#include "samepage/host_import.h"
#include "samepage/module_info.h"
#include "samepage/status.h"

namespace samepage {

struct GlueExport {
  std::string name;
  std::string signature;  // signature_code(): params ':' results
  void (*fn)(void) = nullptr;
};

// The state a snapshot reads and writes (glue ABI 3), all inside wasm2c's
// instance struct: a global's value or a table's wasm_rt_*_table_t lives
// `offset` bytes into it.
struct GlueGlobal {
  char type = 0;            // signature_code letter: i I f F r e
  bool is_mutable = false;
  size_t offset = 0;
};
struct GlueTable {
  char elem_type = 0;       // 'r' funcref, 'e' externref
  size_t offset = 0;
};
// A function of the index space (imports first) as wasm2c makes a funcref
// of it: {*type_id, fn, (char*)instance + module_offset}.
struct GlueFunction {
  std::string signature;
  void (*fn)(void) = nullptr;
  size_t module_offset = 0;
  const uint32_t* type_id = nullptr;  // registered when the module was initialised
};

class LoadedModule {
 public:
  // Opens the artifact held by `file` (already checked: see artifact_file.h)
  // through /proc/self/fd, never by path. Checks the glue ABI and the
  // module's imports against `host_imports` before binding any symbol, so an
  // unknown import is a message, not a dlopen error. `shown` names the
  // artifact in messages.
  static Result<std::shared_ptr<LoadedModule>> open(UniqueFd file, const std::string& shown,
                                                    const std::vector<HostImport>& host_imports);
  ~LoadedModule();

  size_t instance_bytes() const { return instance_bytes_; }
  void (*instantiate)(void* instance, void* import_context) = nullptr;
  void (*free_instance)(void* instance) = nullptr;
  const std::vector<GlueExport>& exports() const { return exports_; }
  const GlueExport* find_export(const std::string& name) const;
  const std::vector<ImportInfo>& imports() const { return imports_; }
  const std::string& wasm_sha256() const { return wasm_sha256_; }
  const std::vector<GlueGlobal>& globals() const { return globals_; }
  const std::vector<GlueTable>& tables() const { return tables_; }
  const std::vector<GlueFunction>& functions() const { return functions_; }

 private:
  LoadedModule() = default;
  void* handle_ = nullptr;
  size_t instance_bytes_ = 0;
  std::vector<GlueExport> exports_;
  std::vector<ImportInfo> imports_;
  std::string wasm_sha256_;
  std::vector<GlueGlobal> globals_;
  std::vector<GlueTable> tables_;
  std::vector<GlueFunction> functions_;
};

}  // namespace samepage
