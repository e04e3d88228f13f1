#include "samepage/engine.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/artifact_builder.h"
#include "engine/artifact_file.h"
#include "engine/elapsed.h"
#include "engine/loaded_module.h"

namespace samepage {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

std::string mib(uint64_t n_bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n_bytes) / static_cast<double>(kMiB));
  return buf;
}

Status module_too_large(uint64_t n_bytes, const CompileLimits& limits) {
  return err("engine::limits", "the module is " + mib(n_bytes) + ", over the " + mib(limits.module_bytes) +
                                   " module size limit (raise it with --max-module-mb)");
}

// The imports are checked before translation so that only names the host
// knows (plain identifiers) ever reach wasm2c.
Result<ModuleInfo> parse_runnable(const std::vector<uint8_t>& wasm, const EngineOptions& options) {
  const CompileLimits& limits = options.limits;
  if (wasm.size() > limits.module_bytes) return module_too_large(wasm.size(), limits);
  auto info = parse_module(wasm.data(), wasm.size());
  if (!info) return info.status();
  if (Status s = check_runnable(info.value()); !s) return s;
  if (Status s = check_imports(info.value().imports, options.host_imports); !s) return s;
  if (Status s = check_compile_limits(info.value(), wasm.size(), limits); !s) return s;
  return info;
}

// A module file read in one pass, never past the size limit: an artifact
// (ELF magic) is recognised from its first bytes and not read further.
struct ModuleFile {
  bool is_elf = false;
  std::vector<uint8_t> bytes;  // the module, when not an artifact
};

Result<ModuleFile> read_module_file(const std::string& path, const CompileLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return err("engine::read", "cannot open " + path + ": " + std::strerror(errno));
  ModuleFile file;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    file.bytes.insert(file.bytes.end(), buf, buf + in.gcount());
    if (file.bytes.size() >= 4 && std::memcmp(file.bytes.data(), "\x7f" "ELF", 4) == 0) {
      file.is_elf = true;
      file.bytes.clear();
      return file;
    }
    if (file.bytes.size() > limits.module_bytes) {
      in.seekg(0, std::ios::end);  // the whole size for the message, where the file can tell it
      const std::streamoff total = in.tellg();
      return module_too_large(total > 0 ? static_cast<uint64_t>(total) : file.bytes.size(), limits);
    }
  }
  if (in.bad()) return err("engine::read", "cannot read " + path);
  return file;
}

// Copies from the checked descriptor, never from the cache path again.
Status copy_artifact(int from_fd, const std::string& out_path) {
  const char* where = "engine::compile";
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return err(where, "cannot write " + out_path + ": " + std::strerror(errno));
  char buf[1 << 16];
  off_t offset = 0;
  for (;;) {
    const ssize_t n = pread(from_fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err(where, std::string("cannot read the built artifact: ") + std::strerror(errno));
    if (n == 0) break;
    out.write(buf, n);
    offset += n;
  }
  if (!out.flush()) return err(where, "cannot write " + out_path);
  return Status::ok();
}

}  // namespace

Status check_imports(const std::vector<ImportInfo>& imports, const std::vector<HostImport>& host) {
  for (const ImportInfo& imp : imports) {
    const std::string name = "'" + imp.module + "'.'" + imp.field + "'";
    if (imp.kind != ExternKind::ExternKind_func)
      return err("engine::imports", "unknown import " + name + " (" + extern_kind_name(imp.kind) +
                                        "): samepage provides only functions");
    const HostImport* found = nullptr;
    for (const HostImport& h : host)
      if (h.module == imp.module && h.field == imp.field) found = &h;
    if (found == nullptr) return err("engine::imports", "unknown import " + name);
    if (!(found->type == imp.func_type))
      return err("engine::imports", "import " + name + " has type " + func_type_to_string(imp.func_type) +
                                        ", the host provides " + func_type_to_string(found->type));
  }
  return Status::ok();
}

Status check_compile_limits(const ModuleInfo& info, uint64_t n_bytes, const CompileLimits& limits) {
  const char* where = "engine::limits";
  if (n_bytes > limits.module_bytes) return module_too_large(n_bytes, limits);
  if (info.n_functions > limits.functions)
    return err(where, "the module defines " + std::to_string(info.n_functions) + " functions, over the limit of " +
                          std::to_string(limits.functions) + " (raise it with --max-functions)");
  if (info.data_bytes > limits.data_bytes)
    return err(where, "the module's data segments hold " + mib(info.data_bytes) + ", over the " +
                          mib(limits.data_bytes) + " limit (raise it with --max-data-mb)");
  return Status::ok();
}

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return err("engine::read", "cannot open " + path + ": " + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return err("engine::read", "cannot read " + path);
  return bytes;
}

Engine::Engine(EngineOptions options) : options_(std::move(options)) {}

Result<std::shared_ptr<Module>> Engine::load_file(const std::string& path) {
  const auto t0 = std::chrono::steady_clock::now();
  auto file = read_module_file(path, options_.limits);
  if (!file) return file.status();
  if (file->is_elf) {
    if (!options_.allow_precompiled)
      return err("engine::load", path + " is a compiled artifact (native code); samepage loads one only with "
                                        "--allow-precompiled, and only from a trusted `samepage compile`");
    return load_artifact(path);
  }
  const double read_ms = ms_since(t0);
  auto module = load_bytes(file->bytes, std::filesystem::path(path).filename().string());
  if (module) module.value()->stats_.read_ms = read_ms;
  return module;
}

Result<std::shared_ptr<Module>> Engine::load_bytes(const std::vector<uint8_t>& wasm, const std::string& name) {
  auto module = std::make_shared<Module>();
  module->name_ = name;
  auto t0 = std::chrono::steady_clock::now();
  auto info = parse_runnable(wasm, options_);
  if (!info) return info.status();
  module->info_ = std::move(info).value();
  module->stats_.parse_ms = ms_since(t0);

  auto built = build_artifact(wasm, module->info_, options_);
  if (!built) return built.status();
  module->stats_.cache_hit = built->cache_hit;
  module->stats_.translate_ms = built->translate_ms;
  module->stats_.compile_ms = built->compile_ms;
  module->stats_.artifact_path = built->path;

  t0 = std::chrono::steady_clock::now();
  auto loaded = LoadedModule::open(std::move(built->file), built->path, options_.host_imports);
  if (!loaded) return loaded.status();
  module->loaded_ = std::move(loaded).value();
  module->stats_.load_ms = ms_since(t0);
  return module;
}

Result<std::shared_ptr<Module>> Engine::load_artifact(const std::string& path) {
  auto module = std::make_shared<Module>();
  module->name_ = std::filesystem::path(path).filename().string();
  const auto t0 = std::chrono::steady_clock::now();
  // Checked on the descriptor that is then loaded: no path is opened twice.
  auto file = open_trusted_file(AT_FDCWD, path, path, TrustedOwner::TrustedOwner_self_or_root);
  if (!file) return file.status();
  if (Status s = check_elf_artifact(file->get(), path); !s) return s;
  auto loaded = LoadedModule::open(std::move(file).value(), path, options_.host_imports);
  if (!loaded) return loaded.status();
  module->loaded_ = std::move(loaded).value();
  module->stats_.precompiled = true;
  module->stats_.artifact_path = path;
  module->stats_.load_ms = ms_since(t0);
  module->info_.imports = module->loaded_->imports();  // what the artifact recorded
  return module;
}

Status Engine::compile_to(const std::string& wasm_path, const std::string& out_path) {
  auto file = read_module_file(wasm_path, options_.limits);
  if (!file) return file.status();
  if (file->is_elf) return err("engine::compile", wasm_path + " is already a compiled artifact");
  auto info = parse_runnable(file->bytes, options_);
  if (!info) return info.status();
  auto built = build_artifact(file->bytes, info.value(), options_);
  if (!built) return built.status();
  return copy_artifact(built->file.get(), out_path);
}

}  // namespace samepage
