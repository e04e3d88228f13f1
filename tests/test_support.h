// Shared helpers for the runtime tests: guest paths, a test engine, WAT
// compilation through wat2wasm, and capturing a guest's stdout.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "samepage/engine.h"
#include "samepage/instance.h"
#include "test_paths.h"

namespace samepage::test {

inline std::string guest_path(const std::string& name) {
  return guest_dir() + "/" + name + ".wasm";
}

// Engine options that accept every import the runtime provides.
inline EngineOptions engine_options() {
  EngineOptions options;
  options.host_imports = host_imports();
  return options;
}

// One engine for the whole test binary: the compile cache makes repeated
// loads of a guest cheap.
inline Engine& test_engine() {
  static Engine engine(engine_options());
  return engine;
}

inline std::shared_ptr<Module> load_guest(const std::string& name) {
  auto module = test_engine().load_file(guest_path(name));
  EXPECT_TRUE(module.is_ok()) << module.message();
  return module.is_ok() ? module.value() : nullptr;
}

inline std::string make_temp_dir() {
  std::string tmpl = ::testing::TempDir() + "samepage-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  return tmpl;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Assembles WAT text with wat2wasm (from WABT); extra flags enable features.
inline std::vector<uint8_t> wat_to_wasm(const std::string& wat, const std::string& flags = "") {
  const std::string dir = make_temp_dir();
  {
    std::ofstream out(dir + "/m.wat");
    out << wat;
  }
  const std::string cmd = "wat2wasm " + flags + " " + dir + "/m.wat -o " + dir + "/m.wasm 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto bytes = read_file_bytes(dir + "/m.wasm");
  EXPECT_TRUE(bytes.is_ok()) << bytes.message();
  std::system(("rm -rf " + dir).c_str());
  return bytes.is_ok() ? bytes.value() : std::vector<uint8_t>{};
}

// Runs a command guest with its stdout captured into a temp file.
struct CapturedRun {
  Result<GuestOutcome> outcome = Status::error("not run");
  std::string stdout_text;
};

inline CapturedRun run_captured(const std::shared_ptr<Module>& module, InstanceOptions options) {
  CapturedRun out;
  FILE* capture = std::tmpfile();
  options.wasi.stdout_fd = fileno(capture);
  if (options.wasi.args.empty()) options.wasi.args.push_back("guest");
  auto instance = Instance::create(module, options);
  if (!instance) {
    out.outcome = instance.status();
  } else {
    out.outcome = instance.value()->run();
  }
  std::fflush(capture);
  std::rewind(capture);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, capture)) > 0) out.stdout_text.append(buf, n);
  std::fclose(capture);
  return out;
}

inline InstanceOptions with_args(std::vector<std::string> args) {
  InstanceOptions options;
  options.wasi.args = std::move(args);
  return options;
}

// The samepage CLI run as a user would run it: its exit code and output.
struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// args is a shell fragment; stdin is stdin_text, or /dev/null when empty.
inline CliResult run_cli(const std::string& args, const std::string& stdin_text = "") {
  const std::string dir = make_temp_dir();
  std::string cmd = samepage_binary() + " " + args + " >" + dir + "/out 2>" + dir + "/err";
  if (!stdin_text.empty()) {
    std::ofstream(dir + "/in") << stdin_text;
    cmd += " <" + dir + "/in";
  } else {
    cmd += " </dev/null";
  }
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(dir + "/out");
  r.err = read_text(dir + "/err");
  std::system(("rm -rf " + dir).c_str());
  return r;
}

}  // namespace samepage::test
