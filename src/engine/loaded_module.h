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

 private:
  LoadedModule() = default;
  void* handle_ = nullptr;
  size_t instance_bytes_ = 0;
  std::vector<GlueExport> exports_;
  std::vector<ImportInfo> imports_;
  std::string wasm_sha256_;
};

}  // namespace samepage
