#include "engine/artifact_builder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/elapsed.h"
#include "engine/glue_writer.h"
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
  std::string path = tool;
  if (tool.find('/') == std::string::npos) {
    const char* env_path = std::getenv("PATH");
    std::istringstream dirs(env_path ? env_path : "/usr/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      const std::string candidate = dir + "/" + tool;
      if (access(candidate.c_str(), X_OK) == 0) { path = candidate; break; }
    }
  }
  std::error_code ec;
  const fs::path canonical = fs::canonical(path, ec);
  struct stat st {};
  if (ec || stat(canonical.c_str(), &st) != 0) return tool;
  return canonical.string() + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime);
}

Status write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) return err("engine::build", "cannot write " + path.string());
  return Status::ok();
}

}  // namespace

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
  const std::string wasm2c = resolve_wasm2c(options);
  const std::string cc = resolve_cc(options);
  const std::string rt_include = env_or("SAMEPAGE_WASM_RT_INCLUDE", SAMEPAGE_WASM_RT_INCLUDE_DIR);

  Sha256 wasm_hash;
  wasm_hash.update(wasm.data(), wasm.size());
  const std::string wasm_sha = wasm_hash.finish_hex();
  // -fstack-clash-protection: a frame larger than the guest stack's guard
  // would otherwise step over it; probed, it faults in the guard and traps.
  const std::vector<std::string> cflags = {options.opt_level, "-fPIC", "-shared", "-fvisibility=hidden",
                                           "-fno-strict-aliasing", "-fstack-clash-protection", "-w"};
  Sha256 key_hash;
  key_hash.update(wasm_sha);
  key_hash.update("|glue-abi=" + std::to_string(kGlueAbiVersion) + "|samepage=" SAMEPAGE_VERSION);
  key_hash.update("|" + tool_identity(wasm2c) + "|" + tool_identity(cc) + "|" + rt_include);
  for (const std::string& f : cflags) key_hash.update("|" + f);
  const std::string key = key_hash.finish_hex().substr(0, 32);

  BuiltArtifact built;
  const fs::path cache_dir = resolve_cache_dir(options);
  const fs::path cached = cache_dir / (key + ".so");
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) return err(where, "cannot create cache directory " + cache_dir.string() + ": " + ec.message());
  struct stat cache_st {};
  if (stat(cache_dir.c_str(), &cache_st) != 0 || cache_st.st_uid != getuid() || (cache_st.st_mode & S_IWOTH))
    return err(where, "cache directory " + cache_dir.string() + " is not owned by this user or is world-writable");
  if (options.use_cache && fs::exists(cached, ec)) {
    built.path = cached.string();
    built.cache_hit = true;
    return built;
  }
  std::string work_template = (cache_dir / "build-XXXXXX").string();
  if (mkdtemp(work_template.data()) == nullptr)
    return err(where, "cannot create a build directory in " + cache_dir.string());
  const fs::path work = work_template;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { std::error_code e; fs::remove_all(dir, e); }
  } cleanup{work};

  const fs::path wasm_path = work / "module.wasm";
  if (Status s = write_file(wasm_path, std::string(wasm.begin(), wasm.end())); !s) return s;
  auto t0 = std::chrono::steady_clock::now();
  const fs::path c_path = work / (std::string(kGuestModuleName) + ".c");
  if (auto r = run_tool({wasm2c, "-n", kGuestModuleName, wasm_path.string(), "-o", c_path.string()}); !r)
    return err(where, "wasm2c could not translate the module: " + r.message());
  built.translate_ms = ms_since(t0);

  std::ifstream header_in(work / (std::string(kGuestModuleName) + ".h"));
  std::stringstream header;
  header << header_in.rdbuf();
  auto glue = write_glue(header.str(), info, wasm_sha);
  if (!glue) return glue.status();
  const fs::path glue_path = work / "samepage_glue.c";
  if (Status s = write_file(glue_path, glue.value()); !s) return s;

  t0 = std::chrono::steady_clock::now();
  const fs::path so_tmp = work / "guest.so";
  std::vector<std::string> argv = {cc};
  argv.insert(argv.end(), cflags.begin(), cflags.end());
  argv.insert(argv.end(), {"-I" + rt_include, "-I" + work.string(), c_path.string(), glue_path.string(),
                           "-o", so_tmp.string()});
  if (auto r = run_tool(argv); !r) return err(where, "compiling the translated module failed: " + r.message());
  built.compile_ms = ms_since(t0);

  // Rename is atomic within the cache directory: a concurrent run sees either nothing or the whole file.
  fs::rename(so_tmp, cached, ec);
  if (ec) return err(where, "cannot store " + cached.string() + ": " + ec.message());
  built.path = cached.string();
  return built;
}

}  // namespace samepage
