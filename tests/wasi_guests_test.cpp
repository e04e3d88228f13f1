// The WASI guests (guests/wasi_tests/*.c) run end to end through the engine:
// real wasi-libc code calling samepage's WASI through wasm2c. Each guest
// prints "PASS <area>" and exits 0 only when all of its checks held.
#include <sys/stat.h>

#include "test_support.h"

namespace samepage::test {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

class WasiGuests : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    sandbox_ = root_ + "/sb";
    ASSERT_EQ(::mkdir(sandbox_.c_str(), 0755), 0);
  }
  void TearDown() override { std::system(("rm -rf '" + root_ + "'").c_str()); }

  CapturedRun run(const std::string& guest, std::vector<std::string> args,
                  bool writable = true, InstanceOptions options = {}) {
    auto module = load_guest(guest);
    if (module == nullptr) return {};
    args.insert(args.begin(), guest);
    options.wasi.args = std::move(args);
    options.wasi.preopens.push_back({sandbox_, "/sandbox", writable});
    return run_captured(module, options);
  }
  static void expect_pass(const CapturedRun& r, const std::string& area) {
    ASSERT_TRUE(r.outcome.is_ok()) << r.outcome.message();
    EXPECT_FALSE(r.outcome.value().trapped()) << r.outcome.value().message;
    EXPECT_EQ(r.outcome.value().exit_code, 0u) << r.stdout_text;
    EXPECT_NE(r.stdout_text.find("PASS " + area + "\n"), std::string::npos) << r.stdout_text;
  }

  std::string root_, sandbox_;
};

TEST_F(WasiGuests, ArgsEnv) {
  InstanceOptions options;
  options.wasi.env = {"SAMEPAGE_K=a value", "EMPTY="};
  const CapturedRun r = run("wasi_args_env",
                            {"expect-argc:5", "expect-env:SAMEPAGE_K=a value", "expect-env:EMPTY=",
                             "expect-no-env:SAMEPAGE_NOT_SET"},
                            true, options);
  expect_pass(r, "args_env");
  // The guest's own checks fail when an expectation is wrong.
  const CapturedRun wrong = run("wasi_args_env", {"expect-argc:7"});
  ASSERT_TRUE(wrong.outcome.is_ok()) << wrong.outcome.message();
  EXPECT_EQ(wrong.outcome.value().exit_code, 1u);
  EXPECT_EQ(wrong.stdout_text.find("PASS"), std::string::npos);
}

TEST_F(WasiGuests, ClocksRandom) { expect_pass(run("wasi_clocks_random", {}), "clocks_random"); }

TEST_F(WasiGuests, Files) {
  expect_pass(run("wasi_files", {}), "files");
  EXPECT_FALSE(exists(sandbox_ + "/files_test"));  // the guest cleaned up
}

TEST_F(WasiGuests, Dirs) { expect_pass(run("wasi_dirs", {}), "dirs"); }

TEST_F(WasiGuests, Escapes) {
  expect_pass(run("wasi_escapes", {}), "escapes");
  // Where the guest's planted links point: none of it was created.
  const std::string above = root_ + "/..";
  for (const char* name : {"samepage_escape_created", "samepage_escape_dir",
                           "samepage_escape_link", "samepage_escape_renamed"}) {
    EXPECT_FALSE(exists(above + "/" + name)) << name;
    EXPECT_FALSE(exists(root_ + "/" + name)) << name;
  }
}

TEST_F(WasiGuests, PollStdio) {
  FILE* input = std::tmpfile();
  std::fputs("from the host", input);
  std::fflush(input);
  std::rewind(input);
  InstanceOptions options;
  options.wasi.stdin_fd = fileno(input);
  expect_pass(run("wasi_poll_stdio", {"stdin:from the host"}, true, options), "poll_stdio");
  std::fclose(input);
}

TEST_F(WasiGuests, FilesOnReadOnlyPreopenAreRefused) {
  const CapturedRun r = run("wasi_files", {}, /*writable=*/false);
  ASSERT_TRUE(r.outcome.is_ok()) << r.outcome.message();
  EXPECT_EQ(r.outcome.value().exit_code, 1u);
  EXPECT_NE(r.stdout_text.find("Capabilities insufficient"), std::string::npos) << r.stdout_text;
  EXPECT_FALSE(exists(sandbox_ + "/files_test"));
}

}  // namespace
}  // namespace samepage::test
