// samepage: run WebAssembly guests whose memory is the compute buffer.
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli.h"

namespace samepage::cli {

int fail(const std::string& message, int exit_code) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n') c = ' ';  // one line, whatever a tool printed
  std::fprintf(stderr, "samepage: %s\n", line.c_str());
  return exit_code;
}

bool wants_help(const Args& args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

}  // namespace samepage::cli

namespace {

const char* kUsage =
    "usage: samepage <command> [options]\n"
    "\n"
    "commands:\n"
    "  generate  continue a prompt with a GGUF model (the LLM guest)\n"
    "  chat      talk with a GGUF model in its chat template\n"
    "  tokenize  print a model's tokens for a text\n"
    "  run       run a WebAssembly (WASI) module or a compiled artifact\n"
    "  compile   translate and build a module ahead of time\n"
    "  inspect   show a module's imports, exports, memory and features\n"
    "  bench     benchmarks (bench zero-copy)\n"
    "  devices   list compute backends and their capabilities\n"
    "\n"
    "options:\n"
    "  --version  print the version\n"
    "  --help     this text; `samepage <command> --help` for a command\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace samepage::cli;
  Args args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = args[0];
  const Args rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("samepage %s\n", SAMEPAGE_VERSION);
    return 0;
  }
  if (command == "run") return cmd_run(rest);
  if (command == "compile") return cmd_compile(rest);
  if (command == "inspect") return cmd_inspect(rest);
  if (command == "bench") return cmd_bench(rest);
  if (command == "devices") return cmd_devices(rest);
  if (command == "generate") return cmd_generate(rest);
  if (command == "tokenize") return cmd_tokenize(rest);
  if (command == "chat") return cmd_chat(rest);
  return fail("unknown command '" + command + "' (see samepage --help)", 2);
}
