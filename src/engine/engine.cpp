#include "samepage/engine.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/artifact_builder.h"
#include "engine/elapsed.h"
#include "engine/loaded_module.h"
#include "runtime/host_import.h"

namespace samepage {
namespace {

bool is_elf(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), "\x7f" "ELF", 4) == 0;
}

Result<ModuleInfo> parse_runnable(const std::vector<uint8_t>& wasm) {
  auto info = parse_module(wasm.data(), wasm.size());
  if (!info) return info.status();
  if (Status s = check_runnable(info.value()); !s) return s;
  if (Status s = check_imports(info.value().imports); !s) return s;
  return info;
}

}  // namespace

Status check_imports(const std::vector<ImportInfo>& imports) {
  const std::vector<HostImport>& host = all_host_imports();
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
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.status();
  if (is_elf(bytes.value())) return load_artifact(path);
  const double read_ms = ms_since(t0);
  auto module = load_bytes(bytes.value(), std::filesystem::path(path).filename().string());
  if (module) module.value()->stats_.read_ms = read_ms;
  return module;
}

Result<std::shared_ptr<Module>> Engine::load_bytes(const std::vector<uint8_t>& wasm, const std::string& name) {
  auto module = std::make_shared<Module>();
  module->name_ = name;
  auto t0 = std::chrono::steady_clock::now();
  auto info = parse_runnable(wasm);
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
  auto loaded = LoadedModule::open(built->path);
  if (!loaded) return loaded.status();
  module->loaded_ = std::move(loaded).value();
  module->stats_.load_ms = ms_since(t0);
  return module;
}

Result<std::shared_ptr<Module>> Engine::load_artifact(const std::string& path) {
  auto module = std::make_shared<Module>();
  module->name_ = std::filesystem::path(path).filename().string();
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = LoadedModule::open(path);
  if (!loaded) return loaded.status();
  module->loaded_ = std::move(loaded).value();
  module->stats_.precompiled = true;
  module->stats_.artifact_path = path;
  module->stats_.load_ms = ms_since(t0);
  module->info_.imports = module->loaded_->imports();  // what the artifact recorded
  return module;
}

Status Engine::compile_to(const std::string& wasm_path, const std::string& out_path) {
  auto bytes = read_file_bytes(wasm_path);
  if (!bytes) return bytes.status();
  auto info = parse_runnable(bytes.value());
  if (!info) return info.status();
  auto built = build_artifact(bytes.value(), info.value(), options_);
  if (!built) return built.status();
  std::error_code ec;
  std::filesystem::copy_file(built->path, out_path, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return err("engine::compile", "cannot write " + out_path + ": " + ec.message());
  return Status::ok();
}

}  // namespace samepage
