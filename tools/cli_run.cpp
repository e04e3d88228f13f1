// samepage run [options] MODULE [--] [ARGS...]
#include <cstdio>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "cli.h"
#include "samepage/instance.h"

namespace samepage::cli {
namespace {

const char* kRunUsage =
    "usage: samepage run [options] MODULE.wasm|ARTIFACT [--] [ARGS...]\n"
    "\n"
    "Runs a WASI command module; the process exits with the guest's exit code\n"
    "(134 when the guest traps or is interrupted, 1 when it cannot be loaded),\n"
    "whether it ends in a start function, _initialize or _start. An ARTIFACT from\n"
    "`samepage compile` is native code: it runs only with --allow-precompiled;\n"
    "use only artifacts that you built yourself or otherwise trust.\n"
    "\n"
    "options:\n"
    "  --dir HOST[::GUEST]     preopen HOST read-only, seen by the guest as GUEST\n"
    "  --dir-rw HOST[::GUEST]  preopen HOST read-write\n"
    "  --env KEY=VALUE         set a guest environment variable (repeatable)\n"
    "  --no-cache              rebuild the module even if it is cached\n"
    "  --cache-dir DIR         where compiled modules are kept\n"
    "  --timing                print load and run timings to stderr\n"
    "  --timeout DURATION      interrupt the guest after DURATION (500ms, 2s, 1m) of\n"
    "                          instantiation or of _start (trap: interrupted)\n"
    "  --backend NAME          compute backend for the samepage API (default cpu)\n"
    "  --memory-mode MODE      shared (zero-copy, default) or copy (explicit copies)\n"
    "  --allow-precompiled     accept a compiled ARTIFACT (native code: trusted files only)\n"
    "  --invoke EXPORT[=A,B]   call a function export (i32/i64 arguments) instead of\n"
    "                          _start, after _initialize; repeatable, in order; each\n"
    "                          prints \"EXPORT = RESULT\" (a reactor's calls)\n"
    "  --save-snapshot FILE    after the last --invoke, save the guest's whole state\n"
    "  --restore FILE          start from a snapshot of the same module instead of a\n"
    "                          fresh instance (no _initialize); preopens, args, env\n"
    "                          and limits are this command's, never the file's\n"
    "  --help                  this text\n"
    "\n"
    "limits (what the guest may make the host spend; a refusal names its flag):\n"
    "  --max-host-mb N         host memory beyond linear memory: runtime tensors,\n"
    "                          copy-mode staging, recordings, tables, WASI scratch\n"
    "                          (default 4096)\n"
    "  --max-table-elements N  elements across the guest's tables; table.grow past\n"
    "                          it returns -1 (default 1048576)\n"
    "  --max-fds N             open WASI fds, stdio and preopens included (default\n"
    "                          4096); never more than ulimit -n leaves after the\n"
    "                          fds already open and a reserve for the host\n"
    "  --max-const-ranges N    separate write-protected const ranges; each costs\n"
    "                          kernel mappings (vm.max_map_count) (default 4096)\n";

bool parse_preopen(const std::string& spec, bool writable, WasiConfig::Preopen* out) {
  const size_t sep = spec.find("::");
  out->host_path = spec.substr(0, sep);
  out->guest_path = sep == std::string::npos ? spec : spec.substr(sep + 2);
  out->writable = writable;
  return !out->host_path.empty() && !out->guest_path.empty();
}

// The process exit code for how the guest ended.
int exit_code_of(const GuestOutcome& outcome) {
  switch (outcome.kind) {
    case GuestOutcome::Kind::Kind_returned: return 0;
    case GuestOutcome::Kind::Kind_exited: return static_cast<int>(outcome.exit_code & 0xff);
    case GuestOutcome::Kind::Kind_trapped: return fail("guest " + outcome.message, 134);
  }
  return 1;
}

struct Invoke {
  std::string name;
  std::vector<uint64_t> args;
};
struct RunCalls {
  std::vector<Invoke> invokes;
  std::string save_path, restore_path;
};

bool parse_invoke(const std::string& spec, Invoke* out) {
  const size_t eq = spec.find('=');
  out->name = spec.substr(0, eq);
  if (out->name.empty()) return false;
  if (eq == std::string::npos) return true;
  std::string rest = spec.substr(eq + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string one = rest.substr(0, comma);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(one.c_str(), &end, 0);
    if (one.empty() || *end != '\0' || errno != 0) return false;
    out->args.push_back(static_cast<uint64_t>(v));
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  }
  return true;
}

// A reactor's calls: a fresh instance (or one restored from a snapshot),
// each --invoke in order, then --save-snapshot. A command module's _start
// ends the guest (proc_exit), so there is nothing to snapshot after it.
int run_calls(std::shared_ptr<Module> module, const InstanceOptions& options, const RunCalls& calls) {
  if (calls.invokes.empty()) return fail("--save-snapshot and --restore need --invoke (a reactor's calls)", 2);
  GuestOutcome ended;
  auto instance = calls.restore_path.empty() ? Instance::create(module, options, &ended)
                                             : Instance::restore(module, options, calls.restore_path);
  std::fflush(stdout);
  if (!instance) {
    if (ended.kind != GuestOutcome::Kind::Kind_returned) return exit_code_of(ended);
    return fail(instance.message());
  }
  for (const Invoke& call : calls.invokes) {
    auto outcome = instance.value()->call(call.name, call.args);
    std::fflush(stdout);
    if (!outcome) return fail(outcome.message());
    if (outcome->kind != GuestOutcome::Kind::Kind_returned) return exit_code_of(*outcome);
    if (outcome->has_result) {
      const long long v = outcome->result_is_i32 ? static_cast<int32_t>(outcome->result) : static_cast<int64_t>(outcome->result);
      std::printf("%s = %lld\n", call.name.c_str(), v);
    } else {
      std::printf("%s\n", call.name.c_str());
    }
    std::fflush(stdout);
  }
  if (!calls.save_path.empty()) {
    if (Status s = instance.value()->save_snapshot(calls.save_path); !s) return fail(s.message());
  }
  return 0;
}

}  // namespace

int cmd_run(const Args& args) {
  // --help is samepage's only before the module; after it, it is the guest's.
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kRunUsage, stdout);
      std::fputs(compile_limits_usage().c_str(), stdout);
      std::fputs("  --help                  this text\n", stdout);
      return 0;
    }
    if (a.empty() || a[0] != '-') break;
  }
  EngineOptions engine_options;
  engine_options.host_imports = host_imports();
  InstanceOptions instance_options;
  bool timing = false;
  std::string module_path;
  RunCalls calls;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> const std::string* {
      if (i + 1 >= args.size()) return nullptr;
      (void)flag;
      return &args[++i];
    };
    std::string limit_error;
    if (const int limit = parse_compile_limit_flag(args, i, engine_options.limits, &limit_error); limit != 0) {
      if (limit < 0) return fail(limit_error, 2);
    } else if (const int guest = parse_guest_limit_flag(args, i, instance_options.limits, &limit_error); guest != 0) {
      if (guest < 0) return fail(limit_error, 2);
    } else if (a == "--dir" || a == "--dir-rw") {
      const std::string* v = value(a.c_str());
      WasiConfig::Preopen preopen;
      if (v == nullptr || !parse_preopen(*v, a == "--dir-rw", &preopen))
        return fail(a + " needs HOST[::GUEST]", 2);
      instance_options.wasi.preopens.push_back(preopen);
    } else if (a == "--env") {
      const std::string* v = value("--env");
      if (v == nullptr || v->find('=') == std::string::npos || v->front() == '=')
        return fail("--env needs KEY=VALUE", 2);
      instance_options.wasi.env.push_back(*v);
    } else if (a == "--cache-dir") {
      const std::string* v = value("--cache-dir");
      if (v == nullptr) return fail("--cache-dir needs a directory", 2);
      engine_options.cache_dir = *v;
    } else if (a == "--backend") {
      const std::string* v = value("--backend");
      if (v == nullptr) return fail("--backend needs a name", 2);
      instance_options.backend = *v;
    } else if (a == "--memory-mode") {
      const std::string* v = value("--memory-mode");
      if (v == nullptr || (*v != "shared" && *v != "copy")) return fail("--memory-mode needs shared or copy", 2);
      instance_options.memory_mode = *v == "copy" ? MemoryMode::MemoryMode_copy : MemoryMode::MemoryMode_shared;
    } else if (a == "--invoke" || a == "--save-snapshot" || a == "--restore") {
      const std::string* v = value(a.c_str());
      if (v == nullptr || v->empty()) return fail(a + " needs a value", 2);
      if (a == "--invoke") {
        Invoke call;
        if (!parse_invoke(*v, &call)) return fail("--invoke needs EXPORT or EXPORT=A,B with integer arguments", 2);
        calls.invokes.push_back(call);
      } else {
        (a == "--restore" ? calls.restore_path : calls.save_path) = *v;
      }
    } else if (a == "--allow-precompiled") {
      engine_options.allow_precompiled = true;
    } else if (a == "--no-cache") {
      engine_options.use_cache = false;
    } else if (a == "--timing") {
      timing = true;
    } else if (a == "--") {
      continue;
    } else if (!a.empty() && a[0] == '-' && module_path.empty()) {
      return fail("unknown option " + a + " (see samepage run --help)", 2);
    } else {
      module_path = a;
      ++i;
      break;
    }
  }
  if (module_path.empty()) return fail("run needs a module (see samepage run --help)", 2);
  if (i < args.size() && args[i] == "--") ++i;
  instance_options.wasi.args.push_back(std::filesystem::path(module_path).filename().string());
  for (; i < args.size(); ++i) instance_options.wasi.args.push_back(args[i]);

  Engine engine(engine_options);
  auto module = engine.load_file(module_path);
  if (!module) return fail(module.message());
  const LoadStats& s = module.value()->stats();
  if (timing)
    std::fprintf(stderr,
                 "samepage: load %s: cache %s, read %.2f ms, parse %.2f ms, translate %.1f ms, "
                 "compile %.1f ms, dlopen %.2f ms\n",
                 module_path.c_str(), s.precompiled ? "precompiled" : (s.cache_hit ? "hit" : "miss"),
                 s.read_ms, s.parse_ms, s.translate_ms, s.compile_ms, s.load_ms);
  if (!calls.invokes.empty() || !calls.save_path.empty() || !calls.restore_path.empty())
    return run_calls(module.value(), instance_options, calls);
  // A start function or _initialize may end the guest already: same exit codes as _start.
  GuestOutcome ended_in_create;
  auto instance = Instance::create(module.value(), instance_options, &ended_in_create);
  std::fflush(stdout);
  if (!instance) {
    if (ended_in_create.kind != GuestOutcome::Kind::Kind_returned) return exit_code_of(ended_in_create);
    return fail(instance.message());
  }
  auto outcome = instance.value()->run();
  std::fflush(stdout);
  if (!outcome) return fail(outcome.message());
  return exit_code_of(*outcome);
}

}  // namespace samepage::cli
