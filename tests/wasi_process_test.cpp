// WASI args/environ, clocks, randomness, stdio, poll_oneoff, the import list
// and WasiContext construction, called directly as wasm2c would.
#include <poll.h>
#include <time.h>

#include <chrono>
#include <map>
#include <set>

#include "wasi/wasi_imports.h"
#include "wasi_fixture.h"

namespace samepage::test {
namespace {

class WasiProcess : public WasiFixture {
 protected:
  // One subscription at `sub`: a relative monotonic clock, or fd read/write.
  void put_clock_sub(uint32_t sub, uint64_t userdata, uint64_t timeout_ns) {
    std::memset(at(sub), 0, 48);
    store<uint64_t>(sub, userdata);
    at(sub)[8] = w::kEventtypeClock;
    store<uint32_t>(sub + 16, w::kClockMonotonic);
    store<uint64_t>(sub + 24, timeout_ns);
  }
  void put_fd_sub(uint32_t sub, uint64_t userdata, uint8_t type, uint32_t fd) {
    std::memset(at(sub), 0, 48);
    store<uint64_t>(sub, userdata);
    at(sub)[8] = type;
    store<uint32_t>(sub + 16, fd);
  }
};

TEST_F(WasiProcess, ArgsSizesAndContents) {
  const uint32_t argc = alloc(4), buf_size = alloc(4);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_args_sizes_get(&ctx_, argc, buf_size), 0u);
  EXPECT_EQ(load<uint32_t>(argc), 3u);
  const std::string expected("prog\0hello\0w\xc3\xb6rld\0", 18);
  EXPECT_EQ(load<uint32_t>(buf_size), expected.size());

  const uint32_t argv = alloc(3 * 4), buf = alloc(load<uint32_t>(buf_size));
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_args_get(&ctx_, argv, buf), 0u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(at(buf)), expected.size()), expected);
  EXPECT_EQ(load<uint32_t>(argv + 0), buf);
  EXPECT_EQ(load<uint32_t>(argv + 4), buf + 5);
  EXPECT_EQ(load<uint32_t>(argv + 8), buf + 11);
  EXPECT_STREQ(reinterpret_cast<char*>(at(load<uint32_t>(argv + 8))), "w\xc3\xb6rld");
}

TEST_F(WasiProcess, EnvironSizesAndContents) {
  const uint32_t count = alloc(4), buf_size = alloc(4);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_environ_sizes_get(&ctx_, count, buf_size), 0u);
  EXPECT_EQ(load<uint32_t>(count), 2u);
  EXPECT_EQ(load<uint32_t>(buf_size), 4u + 23u);
  const uint32_t ptrs = alloc(8), buf = alloc(27);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_environ_get(&ctx_, ptrs, buf), 0u);
  EXPECT_STREQ(reinterpret_cast<char*>(at(load<uint32_t>(ptrs))), "A=1");
  EXPECT_STREQ(reinterpret_cast<char*>(at(load<uint32_t>(ptrs + 4))), "LONGER_NAME=some value");
}

TEST_F(WasiProcess, MonotonicClockIncreases) {
  const uint32_t t = alloc(8);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_clock_time_get(&ctx_, w::kClockMonotonic, 1, t), 0u);
  const uint64_t first = load<uint64_t>(t);
  ::usleep(2000);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_clock_time_get(&ctx_, w::kClockMonotonic, 1, t), 0u);
  EXPECT_GE(load<uint64_t>(t) - first, 2'000'000u);
}

TEST_F(WasiProcess, RealtimeClockMatchesHost) {
  const uint32_t t = alloc(8);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_clock_time_get(&ctx_, w::kClockRealtime, 0, t), 0u);
  const auto host_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  const int64_t diff = static_cast<int64_t>(load<uint64_t>(t)) - host_ns;
  EXPECT_LT(std::llabs(diff), 1'000'000'000);
}

TEST_F(WasiProcess, CpuClocksAndResolutions) {
  const uint32_t t = alloc(8);
  for (uint32_t id : {w::kClockRealtime, w::kClockMonotonic, w::kClockProcessCputime,
                      w::kClockThreadCputime}) {
    store<uint64_t>(t, 0);
    ASSERT_EQ(Z_wasi_snapshot_preview1Z_clock_res_get(&ctx_, id, t), 0u) << id;
    EXPECT_GT(load<uint64_t>(t), 0u) << id;
    EXPECT_LE(load<uint64_t>(t), 1'000'000u) << id;
    ASSERT_EQ(Z_wasi_snapshot_preview1Z_clock_time_get(&ctx_, id, 0, t), 0u) << id;
    EXPECT_GT(load<uint64_t>(t), 0u) << id;
  }
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_clock_time_get(&ctx_, 4, 0, t), w::kErrnoInval);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_clock_res_get(&ctx_, 99, t), w::kErrnoInval);
}

TEST_F(WasiProcess, RandomGetFillsBytes) {
  const uint32_t a = alloc(256), b = alloc(256);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_random_get(&ctx_, a, 256), 0u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_random_get(&ctx_, b, 256), 0u);
  std::set<uint8_t> distinct(at(a), at(a) + 256);
  EXPECT_GT(distinct.size(), 64u);  // 256 random bytes have ~160 distinct values
  EXPECT_NE(std::memcmp(at(a), at(b), 256), 0);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_random_get(&ctx_, a, 0), 0u);
}

TEST_F(WasiProcess, StdoutWriteReachesHostPipe) {
  uint32_t n = 0;
  ASSERT_EQ(write(1, "hello stdout\n", &n), 0u);
  EXPECT_EQ(n, 13u);
  char buf[64] = {};
  EXPECT_EQ(::read(stdout_pipe_[0], buf, sizeof(buf)), 13);
  EXPECT_STREQ(buf, "hello stdout\n");
  // stdin is not writable and stdout not readable.
  EXPECT_EQ(write(0, "x", &n), w::kErrnoBadf);
  std::string data;
  EXPECT_EQ(read(1, 4, &data), w::kErrnoBadf);
}

TEST_F(WasiProcess, StdinReadFromHostPipe) {
  ASSERT_EQ(::write(stdin_pipe_[1], "typed", 5), 5);
  std::string data;
  ASSERT_EQ(read(0, 64, &data), 0u);
  EXPECT_EQ(data, "typed");
  ::close(stdin_pipe_[1]);
  stdin_pipe_[1] = -1;
  ASSERT_EQ(read(0, 64, &data), 0u);
  EXPECT_EQ(data, "");  // EOF
}

TEST_F(WasiProcess, GuestClosingStdoutLeavesHostFdOpen) {
  ASSERT_EQ(close(1), 0u);
  EXPECT_EQ(close(1), w::kErrnoBadf);
  uint32_t n = 0;
  EXPECT_EQ(write(1, "x", &n), w::kErrnoBadf);
  EXPECT_EQ(::write(stdout_pipe_[1], "y", 1), 1);  // the host's fd still works
}

TEST_F(WasiProcess, WriteToClosedPipeIsEpipeNotSignal) {
  ::close(stdout_pipe_[0]);
  stdout_pipe_[0] = -1;
  uint32_t n = 0;
  EXPECT_EQ(write(1, "nobody reads", &n), w::kErrnoPipe);  // the test process survives
}

TEST_F(WasiProcess, FdstatOfStdioAndPreopens) {
  const uint32_t st = alloc(24);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_get(&ctx_, 1, st), 0u);
  EXPECT_EQ(at(st)[0], w::kFiletypeUnknown);  // a pipe
  EXPECT_TRUE(load<uint64_t>(st + 8) & w::kRightFdWrite);
  EXPECT_FALSE(load<uint64_t>(st + 8) & w::kRightFdSeek);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_get(&ctx_, kSandboxFd, st), 0u);
  EXPECT_EQ(at(st)[0], w::kFiletypeDirectory);
  EXPECT_TRUE(load<uint64_t>(st + 8) & w::kRightPathCreateFile);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_get(&ctx_, kReadOnlyFd, st), 0u);
  EXPECT_FALSE(load<uint64_t>(st + 8) & w::kRightPathCreateFile);
  EXPECT_TRUE(load<uint64_t>(st + 8) & w::kRightPathOpen);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_get(&ctx_, 77, st), w::kErrnoBadf);
}

TEST_F(WasiProcess, PrestatNamesPreopensAndEndsWithEbadf) {
  const uint32_t pre = alloc(8), name = alloc(64);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_prestat_get(&ctx_, kSandboxFd, pre), 0u);
  EXPECT_EQ(at(pre)[0], w::kPreopentypeDir);
  EXPECT_EQ(load<uint32_t>(pre + 4), 8u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(&ctx_, kSandboxFd, name, 8), 0u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(at(name)), 8), "/sandbox");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(&ctx_, kSandboxFd, name, 3),
            w::kErrnoNametoolong);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_prestat_get(&ctx_, kReadOnlyFd, pre), 0u);
  EXPECT_EQ(load<uint32_t>(pre + 4), 3u);
  // wasi-libc stops scanning at the first EBADF; stdio is not a preopen.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_prestat_get(&ctx_, 5, pre), w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_prestat_get(&ctx_, 1, pre), w::kErrnoBadf);
}

TEST_F(WasiProcess, PollClockSleeps) {
  const uint32_t in = alloc(48), out = alloc(32), n = alloc(4);
  put_clock_sub(in, 42, 20'000'000);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, out, 1, n), 0u);
  const auto slept = std::chrono::steady_clock::now() - start;
  EXPECT_GE(slept, std::chrono::milliseconds(19));
  EXPECT_LT(slept, std::chrono::milliseconds(2000));
  ASSERT_EQ(load<uint32_t>(n), 1u);
  EXPECT_EQ(load<uint64_t>(out), 42u);
  EXPECT_EQ(load<uint16_t>(out + 8), 0u);
  EXPECT_EQ(at(out)[10], w::kEventtypeClock);
}

TEST_F(WasiProcess, PollStdinReadyBeforeTimeout) {
  const uint32_t in = alloc(96), out = alloc(64), n = alloc(4);
  put_fd_sub(in, 7, w::kEventtypeFdRead, 0);
  put_clock_sub(in + 48, 8, 5'000'000'000ull);
  ASSERT_EQ(::write(stdin_pipe_[1], "abc", 3), 3);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, out, 2, n), 0u);
  ASSERT_EQ(load<uint32_t>(n), 1u);
  EXPECT_EQ(load<uint64_t>(out), 7u);
  EXPECT_EQ(at(out)[10], w::kEventtypeFdRead);
  EXPECT_EQ(load<uint64_t>(out + 16), 3u);  // nbytes available
}

TEST_F(WasiProcess, PollStdinTimesOutWhenEmpty) {
  const uint32_t in = alloc(96), out = alloc(64), n = alloc(4);
  put_fd_sub(in, 7, w::kEventtypeFdRead, 0);
  put_clock_sub(in + 48, 8, 10'000'000);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, out, 2, n), 0u);
  ASSERT_EQ(load<uint32_t>(n), 1u);
  EXPECT_EQ(load<uint64_t>(out), 8u);
}

TEST_F(WasiProcess, PollStdoutWritableAndBadFd) {
  const uint32_t in = alloc(96), out = alloc(64), n = alloc(4);
  put_fd_sub(in, 1, w::kEventtypeFdWrite, 1);
  put_fd_sub(in + 48, 2, w::kEventtypeFdRead, 99);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, out, 2, n), 0u);
  ASSERT_EQ(load<uint32_t>(n), 2u);
  std::map<uint64_t, uint16_t> errors;
  for (uint32_t i = 0; i < 2; ++i) errors[load<uint64_t>(out + 32 * i)] = load<uint16_t>(out + 32 * i + 8);
  EXPECT_EQ(errors[1], 0u);
  EXPECT_EQ(errors[2], w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, out, 0, n), w::kErrnoInval);
}

// The preview1 test suite expects ENOTSOCK for an fd that is open but not a
// socket (every fd here: stdio, preopened directories) and EBADF for one that
// is not open, from each of the four socket calls.
TEST_F(WasiProcess, SocketCallsOnOpenFdsAnswerNotsock) {
  const uint32_t p = alloc(8);
  for (const uint32_t fd : {0u, 1u, 2u, kSandboxFd, kSandboxFd + 1}) {
    SCOPED_TRACE("fd " + std::to_string(fd));
    EXPECT_EQ(Z_wasi_snapshot_preview1Z_sock_accept(&ctx_, fd, 0, p), w::kErrnoNotsock);
    EXPECT_EQ(Z_wasi_snapshot_preview1Z_sock_recv(&ctx_, fd, p, 0, 0, p, p), w::kErrnoNotsock);
    EXPECT_EQ(Z_wasi_snapshot_preview1Z_sock_send(&ctx_, fd, p, 0, 0, p), w::kErrnoNotsock);
    EXPECT_EQ(Z_wasi_snapshot_preview1Z_sock_shutdown(&ctx_, fd, 3), w::kErrnoNotsock);
  }
}

TEST_F(WasiProcess, SocketCallsOnBadFdsAnswerBadf) {
  const uint32_t p = alloc(8);
  for (const uint32_t fd : {99u, 0xffffffffu}) {
    SCOPED_TRACE("fd " + std::to_string(fd));
    EXPECT_EQ(Z_wasi_snapshot_preview1Z_sock_accept(&ctx_, fd, 0, p), w::kErrnoBadf);
    EXPECT_EQ(Z_wasi_snapshot_preview1Z_sock_recv(&ctx_, fd, p, 0, 0, p, p), w::kErrnoBadf);
    EXPECT_EQ(Z_wasi_snapshot_preview1Z_sock_send(&ctx_, fd, p, 0, 0, p), w::kErrnoBadf);
    EXPECT_EQ(Z_wasi_snapshot_preview1Z_sock_shutdown(&ctx_, fd, 3), w::kErrnoBadf);
  }
}

TEST_F(WasiProcess, SignalsAreUnsupported) {
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_proc_raise(&ctx_, 9), w::kErrnoNosys);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_sched_yield(&ctx_), 0u);
}

TEST_F(WasiProcess, ContextWithoutStateAnswersNosys) {
  GuestContext empty;
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_close(&empty, 1), w::kErrnoNosys);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_close(nullptr, 1), w::kErrnoNosys);
}

// The types that wasi-libc (Debian wasi-libc 0.0~git20220510) imports, as
// wasm-objdump shows them for a module that calls every __wasi_* function.
TEST(WasiImports, TypesMatchWasiLibc) {
  const std::map<std::string, std::string> expected = {
      {"args_get", "ii:i"}, {"args_sizes_get", "ii:i"}, {"environ_get", "ii:i"},
      {"environ_sizes_get", "ii:i"}, {"clock_res_get", "ii:i"}, {"clock_time_get", "iIi:i"},
      {"fd_advise", "iIIi:i"}, {"fd_allocate", "iII:i"}, {"fd_close", "i:i"},
      {"fd_datasync", "i:i"}, {"fd_fdstat_get", "ii:i"}, {"fd_fdstat_set_flags", "ii:i"},
      {"fd_fdstat_set_rights", "iII:i"}, {"fd_filestat_get", "ii:i"},
      {"fd_filestat_set_size", "iI:i"}, {"fd_filestat_set_times", "iIIi:i"},
      {"fd_pread", "iiiIi:i"}, {"fd_prestat_get", "ii:i"}, {"fd_prestat_dir_name", "iii:i"},
      {"fd_pwrite", "iiiIi:i"}, {"fd_read", "iiii:i"}, {"fd_readdir", "iiiIi:i"},
      {"fd_renumber", "ii:i"}, {"fd_seek", "iIii:i"}, {"fd_sync", "i:i"}, {"fd_tell", "ii:i"},
      {"fd_write", "iiii:i"}, {"path_create_directory", "iii:i"},
      {"path_filestat_get", "iiiii:i"}, {"path_filestat_set_times", "iiiiIIi:i"},
      {"path_link", "iiiiiii:i"}, {"path_open", "iiiiiIIii:i"}, {"path_readlink", "iiiiii:i"},
      {"path_remove_directory", "iii:i"}, {"path_rename", "iiiiii:i"},
      {"path_symlink", "iiiii:i"}, {"path_unlink_file", "iii:i"}, {"poll_oneoff", "iiii:i"},
      {"proc_exit", "i:"}, {"proc_raise", "i:i"}, {"sched_yield", ":i"}, {"random_get", "ii:i"},
      {"sock_accept", "iii:i"}, {"sock_recv", "iiiiii:i"}, {"sock_send", "iiiii:i"},
      {"sock_shutdown", "ii:i"},
  };
  auto code = [](const std::vector<ValType>& types) {
    std::string s;
    for (ValType t : types) s += t == ValType::ValType_i32 ? 'i' : t == ValType::ValType_i64 ? 'I' : '?';
    return s;
  };
  std::set<std::string> seen;
  for (const HostImport& imp : wasi_host_imports()) {
    EXPECT_EQ(imp.module, "wasi_snapshot_preview1");
    ASSERT_TRUE(expected.count(imp.field)) << imp.field;
    EXPECT_EQ(code(imp.type.params) + ":" + code(imp.type.results), expected.at(imp.field))
        << imp.field;
    EXPECT_TRUE(seen.insert(imp.field).second) << "duplicate " << imp.field;
  }
  EXPECT_EQ(seen.size(), expected.size());
}

TEST(WasiContextCreate, MissingPreopenIsAClearError) {
  WasiConfig config;
  config.preopens = {{"/nonexistent/samepage-dir", "/data", false}};
  auto wasi = WasiContext::create(config);
  ASSERT_FALSE(wasi.is_ok());
  EXPECT_NE(wasi.message().find("/nonexistent/samepage-dir"), std::string::npos) << wasi.message();
  EXPECT_NE(wasi.message().find("[wasi::preopen]"), std::string::npos) << wasi.message();
}

TEST(WasiContextCreate, FileAsPreopenAndNulArgumentAreRefused) {
  WasiConfig config;
  config.preopens = {{"/etc/hostname", "/f", false}};
  EXPECT_FALSE(WasiContext::create(config).is_ok());
  WasiConfig bad_arg;
  bad_arg.args = {std::string("a\0b", 3)};
  EXPECT_FALSE(WasiContext::create(bad_arg).is_ok());
}

TEST(WasiContextCreate, MissingStdioStreamIsAClosedFd) {
  WasiConfig config;
  config.stdin_fd = -1;
  auto wasi = WasiContext::create(config);
  ASSERT_TRUE(wasi.is_ok()) << wasi.message();
  EXPECT_EQ(wasi.value()->fd_get(0), nullptr);
  EXPECT_NE(wasi.value()->fd_get(1), nullptr);
}

}  // namespace
}  // namespace samepage::test
