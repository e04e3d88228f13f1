// samepage compile MODULE.wasm -o OUT  and  samepage inspect MODULE.wasm
#include <cstdio>

#include "cli.h"
#include "samepage/engine.h"
#include "samepage/instance.h"
#include "samepage/module_info.h"

namespace samepage::cli {

int cmd_compile(const Args& args) {
  if (wants_help(args)) {
    std::fputs("usage: samepage compile [options] MODULE.wasm -o OUT\n\n"
               "Translates and builds MODULE ahead of time; `samepage run --allow-precompiled\n"
               "OUT` then starts without translation or compilation. OUT is native code:\n"
               "keep it where only you can write it.\n\noptions:\n", stdout);
    std::fputs(compile_limits_usage().c_str(), stdout);
    return 0;
  }
  std::string in, out;
  EngineOptions options;
  options.host_imports = host_imports();
  for (size_t i = 0; i < args.size(); ++i) {
    std::string limit_error;
    if (const int limit = parse_compile_limit_flag(args, i, options.limits, &limit_error); limit != 0) {
      if (limit < 0) return fail(limit_error, 2);
    } else if (args[i] == "-o" && i + 1 < args.size()) out = args[++i];
    else if (!args[i].empty() && args[i][0] == '-') return fail("unknown option " + args[i], 2);
    else if (in.empty()) in = args[i];
    else return fail("compile takes one module", 2);
  }
  if (in.empty() || out.empty()) return fail("usage: samepage compile MODULE.wasm -o OUT", 2);
  Engine engine(options);
  if (Status s = engine.compile_to(in, out); !s) return fail(s.message());
  return 0;
}

int cmd_inspect(const Args& args) {
  CompileLimits limits;
  std::string path;
  bool usage_error = false;
  for (size_t i = 0; i < args.size() && !usage_error; ++i) {
    std::string limit_error;
    if (const int limit = parse_compile_limit_flag(args, i, limits, &limit_error); limit != 0) {
      if (limit < 0) return fail(limit_error, 2);
    } else if (path.empty() && !args[i].empty() && args[i][0] != '-') {
      path = args[i];
    } else {
      usage_error = args[i] != "--help" && args[i] != "-h";
    }
  }
  if (wants_help(args) || path.empty() || usage_error) {
    const bool help = wants_help(args);
    std::fputs("usage: samepage inspect [options] MODULE.wasm\n\n"
               "Prints imports, exports, memory limits, features used, and whether\n"
               "samepage can run the module and why not.\n\noptions:\n", help ? stdout : stderr);
    std::fputs(compile_limits_usage().c_str(), help ? stdout : stderr);
    return help ? 0 : 2;
  }
  auto bytes = read_file_bytes(path);
  if (!bytes) return fail(bytes.message());
  auto info = parse_module(bytes->data(), bytes->size());
  if (!info) return fail(info.message());
  std::string report = describe_module(info.value());
  // The module may be fine and still need imports this host lacks: say so in the verdict.
  const std::string yes = "runnable: yes\n";
  Status verdict = check_imports(info->imports, host_imports());
  if (verdict) verdict = check_compile_limits(info.value(), bytes->size(), limits);
  if (!verdict && report.size() >= yes.size() && report.compare(report.size() - yes.size(), yes.size(), yes) == 0)
    report.replace(report.size() - yes.size(), yes.size(), "runnable: no \u2014 " + verdict.message() + "\n");
  std::fputs(report.c_str(), stdout);
  return 0;
}

}  // namespace samepage::cli
