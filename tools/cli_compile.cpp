// samepage compile MODULE.wasm -o OUT  and  samepage inspect MODULE.wasm
#include <cstdio>

#include "cli.h"
#include "samepage/engine.h"
#include "samepage/module_info.h"

namespace samepage::cli {

int cmd_compile(const Args& args) {
  if (wants_help(args)) {
    std::fputs("usage: samepage compile MODULE.wasm -o OUT\n\n"
               "Translates and builds MODULE ahead of time; `samepage run OUT` then\n"
               "starts without translation or compilation.\n", stdout);
    return 0;
  }
  std::string in, out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o" && i + 1 < args.size()) out = args[++i];
    else if (!args[i].empty() && args[i][0] == '-') return fail("unknown option " + args[i], 2);
    else if (in.empty()) in = args[i];
    else return fail("compile takes one module", 2);
  }
  if (in.empty() || out.empty()) return fail("usage: samepage compile MODULE.wasm -o OUT", 2);
  Engine engine;
  if (Status s = engine.compile_to(in, out); !s) return fail(s.message());
  return 0;
}

int cmd_inspect(const Args& args) {
  if (wants_help(args) || args.size() != 1) {
    std::fputs("usage: samepage inspect MODULE.wasm\n\n"
               "Prints imports, exports, memory limits, features used, and whether\n"
               "samepage can run the module and why not.\n", args.size() == 1 ? stdout : stderr);
    return args.size() == 1 ? 0 : 2;
  }
  auto bytes = read_file_bytes(args[0]);
  if (!bytes) return fail(bytes.message());
  auto info = parse_module(bytes->data(), bytes->size());
  if (!info) return fail(info.message());
  std::string report = describe_module(info.value());
  // The module may be fine and still need imports this host lacks: say so in the verdict.
  const std::string yes = "runnable: yes\n";
  if (Status imports = check_imports(info->imports); !imports && report.size() >= yes.size() &&
      report.compare(report.size() - yes.size(), yes.size(), yes) == 0)
    report.replace(report.size() - yes.size(), yes.size(), "runnable: no \u2014 " + imports.message() + "\n");
  std::fputs(report.c_str(), stdout);
  return 0;
}

}  // namespace samepage::cli
