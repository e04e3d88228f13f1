// samepage bench zero-copy  and  samepage devices
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli.h"
#include "samepage/backend.h"
#include "samepage/instance.h"

namespace samepage::cli {
namespace {

const char* kBenchUsage =
    "usage: samepage bench zero-copy [--backend B] [--size-mb N] [--memory-mode shared|copy|both]\n"
    "                                [--repeats R] [--json]\n"
    "\n"
    "Runs the zero_copy_bench guest: it fills an N MiB f32 weight matrix and an\n"
    "8-row activation batch in its own memory, multiplies them through the host\n"
    "API and checks every element against a float64 reference. Reports whether\n"
    "the backend read the guest's own bytes, the process RSS change across the\n"
    "first op, the median op time and element errors, per memory mode.\n";

// Guests are installed next to the binary (build/guests/), or where $SAMEPAGE_GUEST_DIR says.
std::string guest_dir() {
  if (const char* dir = std::getenv("SAMEPAGE_GUEST_DIR"); dir && *dir) return dir;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (exe.parent_path() / "guests").string();
}

// Runs the guest once in a fresh instance; returns its JSON line.
Result<std::string> run_bench_guest(const std::shared_ptr<Module>& module, const std::string& backend,
                                    MemoryMode mode, const std::string& size_mb, const std::string& repeats) {
  InstanceOptions options;
  options.backend = backend;
  options.memory_mode = mode;
  options.wasi.args = {"zero_copy_bench", size_mb, repeats};
  FILE* capture = std::tmpfile();
  if (capture == nullptr) return err("bench", "cannot create a temporary file");
  options.wasi.stdout_fd = fileno(capture);
  auto instance = Instance::create(module, options);
  if (!instance) {
    std::fclose(capture);
    return instance.status();
  }
  auto outcome = instance.value()->run();
  std::string text;
  std::rewind(capture);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, capture)) > 0) text.append(buf, n);
  std::fclose(capture);
  if (!outcome) return outcome.status();
  if (outcome->trapped()) return err("bench", "guest " + outcome->message);
  if (text.empty()) return err("bench", "the guest printed nothing (exit " + std::to_string(outcome->exit_code) + ")");
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (outcome->kind == GuestOutcome::Kind::Kind_exited && outcome->exit_code != 0)
    return err("bench", "element check failed: " + text);
  return text;
}

// Pulls a number out of the guest's flat JSON object.
std::string field(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const size_t at = json.find(k);
  if (at == std::string::npos) return "?";
  const size_t begin = at + k.size();
  const size_t end = json.find_first_of(",}", begin);
  return json.substr(begin, end - begin);
}

}  // namespace

int cmd_bench(const Args& args) {
  if (wants_help(args) || args.empty() || args[0] != "zero-copy") {
    std::fputs(kBenchUsage, wants_help(args) ? stdout : stderr);
    return wants_help(args) ? 0 : 2;
  }
  std::string backend = "cpu", size_mb = "16", mode = "both", repeats = "20";
  bool json = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--backend" && has_value) backend = args[++i];
    else if (a == "--size-mb" && has_value) size_mb = args[++i];
    else if (a == "--memory-mode" && has_value) mode = args[++i];
    else if (a == "--repeats" && has_value) repeats = args[++i];
    else if (a == "--json") json = true;
    else return fail("bench: unknown or incomplete option " + a, 2);
  }
  if (mode != "shared" && mode != "copy" && mode != "both") return fail("--memory-mode must be shared, copy or both", 2);
  if (std::atof(size_mb.c_str()) <= 0) return fail("--size-mb must be a positive number", 2);

  EngineOptions engine_options;
  engine_options.host_imports = host_imports();
  Engine engine(engine_options);
  auto module = engine.load_file(guest_dir() + "/zero_copy_bench.wasm");
  if (!module) return fail(module.message());
  std::vector<std::pair<std::string, MemoryMode>> modes;
  if (mode != "copy") modes.push_back({"shared", MemoryMode::MemoryMode_shared});
  if (mode != "shared") modes.push_back({"copy", MemoryMode::MemoryMode_copy});

  if (!json) {
    std::printf("| backend | mode | matrix | pointer identity | RSS delta MiB | anon delta MiB | staged MiB | median ms | weight GB/s | element errors |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  }
  for (const auto& [name, m] : modes) {
    auto line = run_bench_guest(module.value(), backend, m, size_mb, repeats);
    if (!line) return fail(line.message());
    if (json) {
      std::printf("{\"backend\": \"%s\", \"mode\": \"%s\", \"result\": %s}\n", backend.c_str(), name.c_str(),
                  line->c_str());
      continue;
    }
    auto mib = [&](const std::string& key) {
      char b[32];
      std::snprintf(b, sizeof b, "%.3f", std::atof(field(*line, key).c_str()) / 1048576.0);
      return std::string(b);
    };
    std::printf("| %s | %s | %s MiB f32 (%s²) × %s rows | %s | %s | %s | %s | %s | %s | %s / %s |\n", backend.c_str(),
                name.c_str(), field(*line, "size_mb").c_str(), field(*line, "dim").c_str(), field(*line, "rows").c_str(),
                field(*line, "pointer_identity").c_str(), mib("rss_delta_bytes").c_str(),
                mib("rss_anon_delta_bytes").c_str(), mib("staged_bytes").c_str(), field(*line, "median_ms").c_str(),
                field(*line, "weight_gbps").c_str(), field(*line, "element_errors").c_str(),
                field(*line, "n_checked").c_str());
  }
  return 0;
}

int cmd_devices(const Args& args) {
  if (wants_help(args)) {
    std::fputs("usage: samepage devices\n\nLists the backends in this build and their capabilities.\n", stdout);
    return 0;
  }
  // From probes only: listing devices creates no backend (and no GPU context).
  for (const BackendEntry& entry : backend_registry()) {
    const BackendProbe probe = entry.probe();
    if (!probe.available) {
      std::printf("%s: unavailable — %s\n", entry.name, probe.unavailable.c_str());
      continue;
    }
    const BackendCaps& c = probe.caps;
    std::printf("%s: %s\n  zero-copy host memory: %s\n  device memory: %s\n  native replay: %s\n", c.name.c_str(),
                c.device.c_str(), c.zero_copy_host_memory ? "yes" : "no", c.device_memory ? "yes" : "no",
                c.native_replay ? "yes" : "no");
    for (const std::string& note : c.notes) std::printf("  note: %s\n", note.c_str());
  }
  return 0;
}

}  // namespace samepage::cli
