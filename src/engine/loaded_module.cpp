#include "engine/loaded_module.h"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <map>

#include <wasm-rt.h>

#include "engine/glue_writer.h"
#include "samepage/engine.h"

namespace samepage {
namespace {

struct RawGlueFunc {
  const char* name;
  const char* signature;
  void (*fn)(void);
};

// How many LoadedModules hold each dlopen handle.
std::mutex g_open_mutex;
std::map<void*, int> g_open_counts;

template <typename Fn>
Fn lookup(void* handle, const char* symbol) {
  return reinterpret_cast<Fn>(dlsym(handle, symbol));
}

}  // namespace

Result<std::shared_ptr<LoadedModule>> LoadedModule::open(const std::string& path) {
  const char* where = "engine::load";
  // Lazy first: read the embedded import list without resolving any import.
  // An absolute path: dlopen would search the library path for a bare name.
  const std::string file = std::filesystem::absolute(path).string();
  void* probe = dlopen(file.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (probe == nullptr) return err(where, std::string("cannot open artifact: ") + dlerror());
  auto abi = lookup<unsigned (*)()>(probe, "samepage_glue_abi");
  auto imports_text = lookup<const char* (*)()>(probe, "samepage_glue_imports");
  if (abi == nullptr || imports_text == nullptr) {
    dlclose(probe);
    return err(where, path + " is not a samepage artifact (no glue symbols)");
  }
  if (abi() != kGlueAbiVersion) {
    dlclose(probe);
    return err(where, path + " was built for glue ABI " + std::to_string(abi()) + ", this samepage uses " +
                          std::to_string(kGlueAbiVersion) + ": recompile it");
  }
  auto imports = decode_import_list(imports_text());
  if (!imports) {
    dlclose(probe);
    return imports.status();
  }
  if (Status s = check_imports(imports.value()); !s) {
    dlclose(probe);
    return s;
  }
  // Imports are known good: bind everything now, so nothing resolves mid-run.
  // The lazy probe must be closed first, or dlopen hands back the same,
  // still lazily bound object.
  dlclose(probe);
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return err(where, std::string("cannot bind artifact: ") + dlerror());

  std::shared_ptr<LoadedModule> module(new LoadedModule());
  module->handle_ = handle;
  module->imports_ = std::move(imports).value();
  auto instance_size = lookup<size_t (*)()>(handle, "samepage_glue_instance_size");
  auto init_module = lookup<void (*)()>(handle, "samepage_glue_init_module");
  auto exports = lookup<const RawGlueFunc* (*)(size_t*)>(handle, "samepage_glue_exports");
  auto sha = lookup<const char* (*)()>(handle, "samepage_glue_wasm_sha256");
  module->instantiate = lookup<void (*)(void*, void*)>(handle, "samepage_glue_instantiate");
  module->free_instance = lookup<void (*)(void*)>(handle, "samepage_glue_free");
  if (!instance_size || !init_module || !exports || !sha || !module->instantiate || !module->free_instance)
    return err(where, path + " lacks part of the glue ABI");
  module->instance_bytes_ = instance_size();
  module->wasm_sha256_ = sha();
  size_t n_exports = 0;
  const RawGlueFunc* raw = exports(&n_exports);
  for (size_t i = 0; i < n_exports; ++i)
    module->exports_.push_back(GlueExport{raw[i].name, raw[i].signature, raw[i].fn});

  static std::once_flag rt_once;
  std::call_once(rt_once, [] { wasm_rt_init(); });
  // Once per loaded object: reopening the same file returns the same handle,
  // whose module state instances on other threads may be using.
  std::lock_guard<std::mutex> lock(g_open_mutex);
  if (g_open_counts[handle]++ == 0) init_module();  // registers function types; runs no guest code
  return module;
}

LoadedModule::~LoadedModule() {
  if (handle_ == nullptr) return;
  std::lock_guard<std::mutex> lock(g_open_mutex);
  // Counted only once fully opened; at zero the object unloads and the next open initialises anew.
  auto it = g_open_counts.find(handle_);
  if (it != g_open_counts.end() && --it->second == 0) g_open_counts.erase(it);
  dlclose(handle_);
}

const GlueExport* LoadedModule::find_export(const std::string& name) const {
  for (const GlueExport& e : exports_)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace samepage
