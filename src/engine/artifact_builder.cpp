#include "engine/artifact_builder.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "engine/elapsed.h"
#include "engine/glue_writer.h"
#include "engine/translator.h"
#include "engine/sha256.h"
#include "engine/subprocess.h"

namespace samepage {
namespace fs = std::filesystem;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// Identifies a tool binary cheaply (path, size, mtime) without running it, so a
// cache hit costs no process launch; a compiler upgrade changes the key.
std::string tool_identity(const std::string& tool) {
  std::string path = find_program(tool);
  if (path.empty()) path = tool;
  std::error_code ec;
  const fs::path canonical = fs::canonical(path, ec);
  struct stat st {};
  if (ec || stat(canonical.c_str(), &st) != 0) return tool;
  return canonical.string() + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime);
}

bool has_wasm_rt_header(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "wasm-rt.h", ec);
}

// The directory holding libsamepage_core (or the executable it is linked into).
fs::path library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&library_dir), &info) == 0 || info.dli_fname == nullptr) return {};
  std::error_code ec;
  const fs::path lib = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path() : lib.parent_path();
}

}  // namespace

Result<std::string> resolve_wasm_rt_include(const EngineOptions& options) {
  if (const char* dir = std::getenv("SAMEPAGE_WASM_RT_INCLUDE"); dir != nullptr && *dir != '\0') {
    if (has_wasm_rt_header(dir)) return std::string(dir);
    return err("engine::build", std::string("$SAMEPAGE_WASM_RT_INCLUDE is ") + dir + ", which holds no wasm-rt.h");
  }
  std::vector<fs::path> candidates;
  if (const fs::path lib = library_dir(); !lib.empty()) candidates.push_back(lib / "wasm-rt");
  if (const std::string wasm2c = find_program(resolve_wasm2c(options)); !wasm2c.empty()) {
    std::error_code ec;
    const fs::path bin = fs::canonical(wasm2c, ec).parent_path();
    if (!ec) candidates.push_back(bin.parent_path() / "include");
  }
  candidates.insert(candidates.end(), {"/usr/local/include", "/usr/include"});
  std::string tried;
  for (const fs::path& dir : candidates) {
    if (has_wasm_rt_header(dir)) return dir.string();
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  return err("engine::build", "cannot find wasm-rt.h (looked in " + tried +
                                  "); set $SAMEPAGE_WASM_RT_INCLUDE to the directory that holds it");
}

std::string resolve_cache_dir(const EngineOptions& options) {
  if (!options.cache_dir.empty()) return options.cache_dir;
  if (const char* dir = std::getenv("SAMEPAGE_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/samepage";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/samepage";
  // Per user: a shared, world-writable directory would let others plant objects we dlopen.
  return "/tmp/samepage-cache-" + std::to_string(getuid());
}

std::string resolve_wasm2c(const EngineOptions& options) {
  return options.wasm2c.empty() ? env_or("SAMEPAGE_WASM2C", "wasm2c") : options.wasm2c;
}

std::string resolve_cc(const EngineOptions& options) {
  return options.cc.empty() ? env_or("SAMEPAGE_CC", "cc") : options.cc;
}

Result<BuiltArtifact> build_artifact(const std::vector<uint8_t>& wasm, const ModuleInfo& info,
                                     const EngineOptions& options) {
  const char* where = "engine::build";
  const CompileLimits& limits = options.limits;
  const auto deadline = limits.timeout_s == 0 ? std::chrono::steady_clock::time_point::max()
                                              : std::chrono::steady_clock::now() + std::chrono::seconds(limits.timeout_s);
  const std::string wasm2c = resolve_wasm2c(options);
  const std::string cc = resolve_cc(options);
  auto rt_include_dir = resolve_wasm_rt_include(options);
  if (!rt_include_dir) return rt_include_dir.status();
  const std::string rt_include = std::move(rt_include_dir).value();

  Sha256 wasm_hash;
  wasm_hash.update(wasm.data(), wasm.size());
  const std::string wasm_sha = wasm_hash.finish_hex();
  // -fstack-clash-protection: a frame larger than the guest stack's guard
  // would otherwise step over it; probed, it faults in the guard and traps.
  const std::vector<std::string> cflags = {options.opt_level, "-fPIC", "-shared", "-fvisibility=hidden",
                                           "-fno-strict-aliasing", "-fstack-clash-protection", "-w"};
  Sha256 key_hash;
  // The original module's hash: the rewrite is a pure function of it, named by its version.
  key_hash.update(wasm_sha);
  key_hash.update("|glue-abi=" + std::to_string(kGlueAbiVersion) + "|rewriter=1|samepage=" SAMEPAGE_VERSION);
  key_hash.update("|" + tool_identity(wasm2c) + "|" + tool_identity(cc) + "|" + rt_include);
  for (const std::string& f : cflags) key_hash.update("|" + f);
  const std::string key = key_hash.finish_hex().substr(0, 32);

  BuiltArtifact built;
  const fs::path cache_dir = resolve_cache_dir(options);
  const std::string entry = key + ".so";
  const fs::path cached = cache_dir / entry;
  auto dir = open_cache_dir(cache_dir.string());
  if (!dir) return dir.status();
  if (options.use_cache) {
    bool missing = false;
    auto file = open_trusted_file(dir->get(), entry, "cache entry " + cached.string(),
                                  TrustedOwner::TrustedOwner_self, &missing);
    if (file) {
      built.path = cached.string();
      built.file = std::move(file).value();
      built.cache_hit = true;
      return built;
    }
    if (!missing) return err(where, file.message() + " (remove it, or rebuild with --no-cache)");
  }
  std::string work_template = (cache_dir / "build-XXXXXX").string();
  if (mkdtemp(work_template.data()) == nullptr)
    return err(where, "cannot create a build directory in " + cache_dir.string());
  const fs::path work = work_template;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { std::error_code e; fs::remove_all(dir, e); }
  } cleanup{work};

  auto t0 = std::chrono::steady_clock::now();
  auto translated = translate_module(wasm, info, wasm_sha, work.string(), wasm2c, limits, deadline);
  if (!translated) return translated.status();
  built.translate_ms = ms_since(t0);

  t0 = std::chrono::steady_clock::now();
  const fs::path so_tmp = work / "guest.so";
  std::vector<std::string> argv = {cc};
  argv.insert(argv.end(), cflags.begin(), cflags.end());
  argv.insert(argv.end(), {"-I" + rt_include, "-I" + work.string(), translated->glue_path,  // includes c_path
                           "-o", so_tmp.string()});
  auto compiled = run_tool(argv, tool_limits(limits, deadline));
  if (!compiled) return compiled.status();
  if (!compiled->succeeded()) return tool_failure(where, "compiling the module", compiled.value(), limits);
  built.compile_ms = ms_since(t0);

  // Whatever the umask: the loader refuses group- or world-writable entries.
  if (chmod(so_tmp.c_str(), 0755) != 0) return err(where, "cannot chmod " + so_tmp.string());
  // Rename is atomic within the cache directory: a concurrent run sees either nothing or the whole file.
  std::error_code ec;
  fs::rename(so_tmp, cached, ec);
  if (ec) return err(where, "cannot store " + cached.string() + ": " + ec.message());
  auto file = open_trusted_file(dir->get(), entry, "cache entry " + cached.string(), TrustedOwner::TrustedOwner_self);
  if (!file) return file.status();
  built.path = cached.string();
  built.file = std::move(file).value();
  return built;
}

}  // namespace samepage
