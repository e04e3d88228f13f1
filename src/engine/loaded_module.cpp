#include "engine/loaded_module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <mutex>
#include <map>
#include <vector>

#include <wasm-rt.h>

#include "engine/glue_writer.h"
#include "samepage/engine.h"

namespace samepage {
namespace {

struct RawGlueFunc {
  const char* name;
  size_t name_bytes;
  const char* signature;
  void (*fn)(void);
};

struct RawGlueGlobal {
  char type;
  unsigned char is_mutable;
  size_t offset;
};
struct RawGlueTable {
  char elem_type;
  size_t offset;
};
struct RawGlueFunction {
  const char* signature;
  void (*fn)(void);
  size_t module_offset;
  const uint32_t* type_id;
};

// Each dlopen handle: how many LoadedModules hold it, and every descriptor
// whose /proc/self/fd name it was opened under. glibc finds an object by
// name before it compares inodes, so a name must not be reused while the
// object is loaded: the descriptors stay open until the last holder is gone.
struct OpenObject {
  int n_holders = 0;
  std::vector<int> fds;
};
std::mutex g_open_mutex;  // held across every open and close: dlopen names and counts move together
std::map<void*, OpenObject> g_open;

// After a dlclose: if someone still holds the object, `fd`'s name is now
// one of its names and must live as long as it; otherwise close it.
void retire_fd(void* handle, UniqueFd fd) {
  auto it = g_open.find(handle);
  if (it != g_open.end()) it->second.fds.push_back(fd.release());
}

template <typename Fn>
Fn lookup(void* handle, const char* symbol) {
  return reinterpret_cast<Fn>(dlsym(handle, symbol));
}

}  // namespace

Result<std::shared_ptr<LoadedModule>> LoadedModule::open(UniqueFd fd, const std::string& path,
                                                          const std::vector<HostImport>& host_imports) {
  const char* where = "engine::load";
  std::lock_guard<std::mutex> lock(g_open_mutex);
  // Lazy first: read the embedded import list without resolving any import.
  const std::string file = fd_path(fd.get());
  void* probe = dlopen(file.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (probe == nullptr) return err(where, std::string("cannot open artifact ") + path + ": " + dlerror());
  // Every early return below closes the probe first, then retires the name.
  auto fail = [&](Status s) -> Result<std::shared_ptr<LoadedModule>> {
    dlclose(probe);
    retire_fd(probe, std::move(fd));
    return s;
  };
  auto abi = lookup<unsigned (*)()>(probe, "samepage_glue_abi");
  auto imports_text = lookup<const char* (*)()>(probe, "samepage_glue_imports");
  if (abi == nullptr || imports_text == nullptr) return fail(err(where, path + " is not a samepage artifact (no glue symbols)"));
  if (abi() != kGlueAbiVersion)
    return fail(err(where, path + " was built for glue ABI " + std::to_string(abi()) + ", this samepage uses " +
                               std::to_string(kGlueAbiVersion) + ": recompile it"));
  auto imports = decode_import_list(imports_text());
  if (!imports) return fail(imports.status());
  if (Status s = check_imports(imports.value(), host_imports); !s) return fail(s);
  // Imports are known good: bind everything now, so nothing resolves mid-run.
  // The lazy probe must be closed first, or dlopen hands back the same,
  // still lazily bound object.
  dlclose(probe);
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const std::string why = dlerror();
    retire_fd(probe, std::move(fd));
    return err(where, "cannot bind artifact " + path + ": " + why);
  }

  std::shared_ptr<LoadedModule> module(new LoadedModule());
  module->handle_ = handle;
  module->imports_ = std::move(imports).value();
  auto instance_size = lookup<size_t (*)()>(handle, "samepage_glue_instance_size");
  auto init_module = lookup<void (*)()>(handle, "samepage_glue_init_module");
  auto exports = lookup<const RawGlueFunc* (*)(size_t*)>(handle, "samepage_glue_exports");
  auto sha = lookup<const char* (*)()>(handle, "samepage_glue_wasm_sha256");
  auto globals = lookup<const RawGlueGlobal* (*)(size_t*)>(handle, "samepage_glue_globals");
  auto tables = lookup<const RawGlueTable* (*)(size_t*)>(handle, "samepage_glue_tables");
  auto functions = lookup<const RawGlueFunction* (*)(size_t*)>(handle, "samepage_glue_functions");
  module->instantiate = lookup<void (*)(void*, void*)>(handle, "samepage_glue_instantiate");
  module->free_instance = lookup<void (*)(void*)>(handle, "samepage_glue_free");
  if (!instance_size || !init_module || !exports || !sha || !module->instantiate || !module->free_instance ||
      !globals || !tables || !functions) {
    module->handle_ = nullptr;
    dlclose(handle);
    retire_fd(handle, std::move(fd));
    return err(where, path + " lacks part of the glue ABI");
  }
  module->instance_bytes_ = instance_size();
  module->wasm_sha256_ = sha();
  size_t n_exports = 0;
  const RawGlueFunc* raw = exports(&n_exports);
  for (size_t i = 0; i < n_exports; ++i)
    module->exports_.push_back(GlueExport{std::string(raw[i].name, raw[i].name_bytes), raw[i].signature, raw[i].fn});
  size_t n = 0;
  const RawGlueGlobal* raw_globals = globals(&n);
  for (size_t i = 0; i < n; ++i)
    module->globals_.push_back(GlueGlobal{raw_globals[i].type, raw_globals[i].is_mutable != 0, raw_globals[i].offset});
  const RawGlueTable* raw_tables = tables(&n);
  for (size_t i = 0; i < n; ++i) module->tables_.push_back(GlueTable{raw_tables[i].elem_type, raw_tables[i].offset});
  const RawGlueFunction* raw_functions = functions(&n);
  for (size_t i = 0; i < n; ++i)
    module->functions_.push_back(GlueFunction{raw_functions[i].signature, raw_functions[i].fn,
                                              raw_functions[i].module_offset, raw_functions[i].type_id});

  static std::once_flag rt_once;
  std::call_once(rt_once, [] { wasm_rt_init(); });
  // Once per loaded object: reopening the same file returns the same handle,
  // whose module state instances on other threads may be using.
  OpenObject& object = g_open[handle];
  object.fds.push_back(fd.release());
  if (object.n_holders++ == 0) init_module();  // registers function types; runs no guest code
  return module;
}

LoadedModule::~LoadedModule() {
  if (handle_ == nullptr) return;
  std::lock_guard<std::mutex> lock(g_open_mutex);
  // Counted only once fully opened; at zero the object unloads, its names
  // die with it, and the next open initialises anew.
  dlclose(handle_);
  auto it = g_open.find(handle_);
  if (it != g_open.end() && --it->second.n_holders == 0) {
    for (int fd : it->second.fds) close(fd);
    g_open.erase(it);
  }
}

const GlueExport* LoadedModule::find_export(const std::string& name) const {
  for (const GlueExport& e : exports_)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace samepage
