// The samepage CLI as a user meets it: exit codes, one-line errors, help.
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace samepage {
namespace {

using test::CliResult;
using test::run_cli;

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Cli, VersionAndHelp) {
  CliResult version = run_cli("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("samepage "), std::string::npos);
  for (const char* command : {"run", "compile", "inspect"}) {
    CliResult help = run_cli(std::string(command) + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("usage: samepage " + std::string(command)), std::string::npos) << help.out;
  }
  CliResult top = run_cli("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("commands:"), std::string::npos);
}

// devices prints probes only; a backend absent from this build says why, by name.
TEST(Cli, DevicesListsEveryBackendByProbe) {
  CliResult devices = run_cli("devices");
  EXPECT_EQ(devices.exit_code, 0) << devices.err;
  EXPECT_NE(devices.out.find("cpu: "), std::string::npos) << devices.out;
  EXPECT_NE(devices.out.find("cuda: "), std::string::npos) << devices.out;
  CliResult cuda = run_cli("run --backend cuda " + test::guest_path("api_tour"));
  EXPECT_NE(cuda.exit_code, 0);
  if (devices.out.find("cuda: unavailable") != std::string::npos) {
    EXPECT_NE(cuda.err.find("'cuda' is unavailable"), std::string::npos) << cuda.err;
  }
}

TEST(Cli, RunExitsWithTheGuestsExitCode) {
  CliResult ok = run_cli("run " + test::guest_path("hello") + " -- a b");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("arg 2: b"), std::string::npos) << ok.out;
  CliResult exit7 = run_cli("run " + test::guest_path("traps") + " -- exit 7");
  EXPECT_EQ(exit7.exit_code, 7) << exit7.err;
}

TEST(Cli, TrapIsOneLineAndExit134) {
  CliResult trap = run_cli("run " + test::guest_path("traps") + " -- div0");
  EXPECT_EQ(trap.exit_code, 134);
  EXPECT_EQ(count_lines(trap.err), 1) << trap.err;
  EXPECT_NE(trap.err.find("integer divide by zero"), std::string::npos) << trap.err;
}

// A module written to a temp file from WAT, for run to load.
std::string wat_file(const std::string& dir, const std::string& name, const std::string& wat) {
  const std::vector<uint8_t> bytes = test::wat_to_wasm(wat);
  const std::string path = dir + "/" + name + ".wasm";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
  return path;
}

// The guest may end before _start: in its start function or in _initialize.
// run exits the same way wherever it ends (once it exited 1 for these).
TEST(Cli, RunExitsWithTheGuestsCodeWhenItEndsBeforeStart) {
  const std::string dir = test::make_temp_dir();
  const std::string exit_import =
      R"((import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32))) (memory (export "memory") 1))";
  const std::string start_exit = wat_file(dir, "start_exit", "(module " + exit_import + R"(
      (func $s (call $exit (i32.const 7))) (start $s) (func (export "_start"))))");
  const std::string start_trap = wat_file(dir, "start_trap", "(module " + exit_import + R"(
      (func $s unreachable) (start $s) (func (export "_start"))))");
  const std::string init_exit = wat_file(dir, "init_exit", "(module " + exit_import + R"(
      (func (export "_initialize") (call $exit (i32.const 9))) (func (export "_start"))))");
  const std::string init_trap = wat_file(dir, "init_trap", "(module " + exit_import + R"(
      (func (export "_initialize") unreachable) (func (export "_start"))))");

  CliResult exit7 = run_cli("run " + start_exit);
  EXPECT_EQ(exit7.exit_code, 7) << exit7.err;
  CliResult trap = run_cli("run " + start_trap);
  EXPECT_EQ(trap.exit_code, 134) << trap.err;
  EXPECT_NE(trap.err.find("unreachable"), std::string::npos) << trap.err;
  EXPECT_EQ(count_lines(trap.err), 1) << trap.err;
  CliResult exit9 = run_cli("run " + init_exit);
  EXPECT_EQ(exit9.exit_code, 9) << exit9.err;
  CliResult init_trapped = run_cli("run " + init_trap);
  EXPECT_EQ(init_trapped.exit_code, 134) << init_trapped.err;
  EXPECT_NE(init_trapped.err.find("unreachable"), std::string::npos) << init_trapped.err;
  std::filesystem::remove_all(dir);
}

TEST(Cli, TimeoutInterruptsAnEndlessGuestWith134) {
  const auto t0 = std::chrono::steady_clock::now();
  CliResult spin = run_cli("run --timeout 300ms " + test::guest_path("traps") + " -- spin");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(spin.exit_code, 134) << spin.err;
  EXPECT_NE(spin.err.find("trap: interrupted (timeout 300ms)"), std::string::npos) << spin.err;
  EXPECT_EQ(count_lines(spin.err), 1) << spin.err;
  EXPECT_LT(seconds, 30.0);
  // In a start function too: the timeout covers instantiation.
  const std::string dir = test::make_temp_dir();
  const std::string start_spin = wat_file(dir, "start_spin", R"((module (memory (export "memory") 1)
      (func $s (loop $l (br $l))) (start $s) (func (export "_start"))))");
  CliResult in_start = run_cli("run --timeout 1s " + start_spin);
  EXPECT_EQ(in_start.exit_code, 134) << in_start.err;
  EXPECT_NE(in_start.err.find("trap: interrupted (timeout 1s)"), std::string::npos) << in_start.err;
  // A guest that finishes in time is not disturbed.
  CliResult quick = run_cli("run --timeout 1m " + test::guest_path("hello"));
  EXPECT_EQ(quick.exit_code, 0) << quick.err;
  CliResult bad = run_cli("run --timeout soon " + test::guest_path("hello"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--timeout needs a duration"), std::string::npos) << bad.err;
  std::filesystem::remove_all(dir);
}

TEST(Cli, ErrorsAreOneClearLine) {
  CliResult missing = run_cli("run /nonexistent.wasm");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(count_lines(missing.err), 1) << missing.err;
  EXPECT_NE(missing.err.find("/nonexistent.wasm"), std::string::npos);
  CliResult unknown = run_cli("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(count_lines(unknown.err), 1) << unknown.err;
  CliResult bad_option = run_cli("run --bogus x.wasm");
  EXPECT_EQ(bad_option.exit_code, 2);
  EXPECT_EQ(count_lines(bad_option.err), 1) << bad_option.err;
}

TEST(Cli, CompileThenRunTheArtifact) {
  const std::string dir = test::make_temp_dir();
  CliResult compiled = run_cli("compile " + test::guest_path("hello") + " -o " + dir + "/hello.so");
  ASSERT_EQ(compiled.exit_code, 0) << compiled.err;
  CliResult refused = run_cli("run " + dir + "/hello.so");
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_EQ(count_lines(refused.err), 1) << refused.err;
  EXPECT_NE(refused.err.find("--allow-precompiled"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.out.find("hello from a samepage guest"), std::string::npos);
  CliResult ran = run_cli("run --allow-precompiled --timing " + dir + "/hello.so");
  EXPECT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_NE(ran.out.find("hello from a samepage guest"), std::string::npos);
  EXPECT_NE(ran.err.find("precompiled"), std::string::npos) << ran.err;
  std::filesystem::remove_all(dir);
}

TEST(Cli, CompileLimitFlagsNameThemselves) {
  CliResult refused = run_cli("run --max-functions 1 " + test::guest_path("hello"));
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_EQ(count_lines(refused.err), 1) << refused.err;
  EXPECT_NE(refused.err.find("over the limit of 1 (raise it with --max-functions)"), std::string::npos) << refused.err;
  CliResult raised = run_cli("run --max-functions 100000 --max-module-mb 1 --max-data-mb 1 --compile-timeout 300 " +
                             test::guest_path("hello"));
  EXPECT_EQ(raised.exit_code, 0) << raised.err;
  CliResult bad = run_cli("compile --max-data-mb lots " + test::guest_path("hello") + " -o /dev/null");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  CliResult inspect = run_cli("inspect --max-module-mb 0 " + test::guest_path("hello"));
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("runnable: no"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("--max-module-mb"), std::string::npos) << inspect.out;
  for (const char* command : {"run", "compile", "inspect"}) {
    CliResult help = run_cli(std::string(command) + " --help");
    EXPECT_NE(help.out.find("--compile-timeout"), std::string::npos) << command;
  }
}

TEST(Cli, InspectReportsImportsExportsAndRunnability) {
  CliResult report = run_cli("inspect " + test::guest_path("hello"));
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("fd_write"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("_start"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("runnable: yes"), std::string::npos) << report.out;
}

TEST(Cli, RunWithPreopenReadsAFile) {
  const std::string dir = test::make_temp_dir();
  {
    std::ofstream out(dir + "/data.txt");
    out << "twelve bytes";
  }
  CliResult r = run_cli("run --dir " + dir + "::/data " + test::guest_path("file_reader") + " -- /data/data.txt");
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("12 bytes"), std::string::npos) << r.out;
  CliResult escape = run_cli("run --dir " + dir + "::/data " + test::guest_path("file_reader") + " -- /data/../etc/passwd");
  EXPECT_NE(escape.exit_code, 0) << escape.out;
  std::filesystem::remove_all(dir);
}

TEST(Cli, PseudoFileSystemPreopenIsRefused) {
  CliResult r = run_cli("run --dir /proc " + test::guest_path("hello"));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("/proc"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pseudo file system"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("hello from a samepage guest"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace samepage

namespace samepage {
namespace {

TEST(Cli, LimitFlagsAreParsedAndRefusalsNameThem) {
  const std::string dir = test::make_temp_dir();
  const auto wasm = test::wat_to_wasm(R"((module
      (table 10 funcref)
      (memory (export "memory") 1)
      (func (export "_start"))))");
  {
    std::ofstream out(dir + "/table.wasm", std::ios::binary);
    out.write(reinterpret_cast<const char*>(wasm.data()), static_cast<std::streamsize>(wasm.size()));
  }
  const std::string module = " " + dir + "/table.wasm";
  EXPECT_EQ(run_cli("run --max-table-elements 10 --max-host-mb 64 --max-fds 64 --max-const-ranges 16" + module).exit_code, 0);
  CliResult table = run_cli("run --max-table-elements 5" + module);
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.err.find("--max-table-elements"), std::string::npos) << table.err;
  CliResult fds = run_cli("run --max-fds 2" + module);
  EXPECT_EQ(fds.exit_code, 1);
  EXPECT_NE(fds.err.find("--max-fds"), std::string::npos) << fds.err;
  for (const char* bad : {"--max-host-mb 0", "--max-fds x", "--max-const-ranges -1", "--max-table-elements"}) {
    CliResult r = run_cli(std::string("run ") + bad + module);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
  CliResult help = run_cli("run --help");
  for (const char* flag : {"--max-host-mb", "--max-table-elements", "--max-fds", "--max-const-ranges"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace samepage
