// Bad guest pointers: every offset/length that reaches past guest memory,
// including ones that wrap around 2^32 or overflow a multiplication, gives
// EFAULT (21), never a host crash or a write outside the buffer. The fake
// guest memory sits inside a larger host buffer whose tail is a canary.
#include "wasi_fixture.h"

namespace samepage::test {
namespace {

class WasiMemory : public WasiFixture {
 protected:
  static constexpr uint32_t kEnd = kGuestMemoryBytes;
  static constexpr uint32_t kNearTop = 0xFFFFFFF0u;

  void SetUp() override {
    WasiFixture::SetUp();
    // Shrink the guest's view by one page so the last 64 KiB of the host
    // buffer is outside it: writes there would be sandbox violations.
    memory_.size = kGuestMemoryBytes - 65536;
    memory_.pages -= 1;
    std::memset(at(memory_.size), 0xAB, 65536);
  }
  void TearDown() override {
    for (uint32_t i = 0; i < 65536; ++i) {
      ASSERT_EQ(at(memory_.size)[i], 0xAB) << "host wrote outside guest memory at +" << i;
    }
    WasiFixture::TearDown();
  }
  uint32_t size() const { return memory_.size; }
};

TEST_F(WasiMemory, ArgsAndEnvironOutOfRange) {
  const uint32_t ok = alloc(64);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_args_sizes_get(&ctx_, size() - 2, ok), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_args_sizes_get(&ctx_, ok, kNearTop), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_args_get(&ctx_, kNearTop, ok), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_args_get(&ctx_, ok, size() - 5), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_environ_get(&ctx_, size() - 4, ok), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_environ_sizes_get(&ctx_, 0xFFFFFFFFu, ok), w::kErrnoFault);
}

TEST_F(WasiMemory, ClockAndRandomOutOfRange) {
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_clock_time_get(&ctx_, 1, 0, size() - 7), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_clock_res_get(&ctx_, 1, kNearTop + 12), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_random_get(&ctx_, size() - 10, 11), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_random_get(&ctx_, 16, 0xFFFFFFF8u), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_random_get(&ctx_, size(), 0), 0u);  // empty at the end is fine
}

TEST_F(WasiMemory, IovecsOutOfRange) {
  uint32_t fd = 0;
  ASSERT_EQ(open(kSandboxFd, "f", w::kOflagCreat, kReadWrite, 0, &fd), 0u);
  const uint32_t n = alloc(4);
  // The iovec array itself past the end, or wrapping around 2^32.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_write(&ctx_, fd, size() - 4, 1, n), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_write(&ctx_, fd, kNearTop, 4, n), w::kErrnoFault);
  // iovs_len * 8 overflows 32 bits.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_write(&ctx_, fd, 64, 0x20000001u, n), w::kErrnoFault);
  // A buffer that runs past the end or wraps.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_write(&ctx_, fd, iovec(size() - 10, 11), 1, n),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_write(&ctx_, fd, iovec(0x10, 0xFFFFFFF8u), 1, n),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_read(&ctx_, fd, iovec(size() - 1, 2), 1, n),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_pread(&ctx_, fd, iovec(kNearTop, 0x20), 1, 0, n),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_pwrite(&ctx_, fd, iovec(size(), 1), 1, 0, n),
            w::kErrnoFault);
  // A bad result pointer is found before anything is written to the file.
  const uint32_t data = put("data");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_write(&ctx_, fd, iovec(data, 4), 1, size() - 2),
            w::kErrnoFault);
  EXPECT_EQ(read_host_file(sandbox_ + "/f"), "");
  // The last bytes of memory are usable.
  std::memcpy(at(size() - 4), "tail", 4);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_write(&ctx_, fd, iovec(size() - 4, 4), 1, n), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/f"), "tail");
  // Reading into the last bytes fills exactly them.
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_pread(&ctx_, fd, iovec(size() - 4, 4), 1, 0, n), 0u);
  EXPECT_EQ(load<uint32_t>(n), 4u);
}

TEST_F(WasiMemory, PathArgumentsOutOfRange) {
  const uint32_t out = alloc(64);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_open(&ctx_, kSandboxFd, 0, size() - 2, 3, 0, kRead,
                                                0, 0, out),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_open(&ctx_, kSandboxFd, 0, kNearTop, 0x20, 0, kRead,
                                                0, 0, out),
            w::kErrnoFault);
  const uint32_t name = put("x");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_open(&ctx_, kSandboxFd, 0, name, 1, w::kOflagCreat,
                                                kReadWrite, 0, 0, size() - 1),
            w::kErrnoFault);
  EXPECT_FALSE(host_exists(sandbox_ + "/x"));  // checked before creating
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_create_directory(&ctx_, kSandboxFd, kNearTop, 100),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_unlink_file(&ctx_, kSandboxFd, size(), 1),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_remove_directory(&ctx_, kSandboxFd, 0xFFFFFFFFu, 1),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_filestat_get(&ctx_, kSandboxFd, 0, name, 1, size() - 8),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_rename(&ctx_, kSandboxFd, name, 1, kSandboxFd,
                                                  kNearTop, 0x100),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_symlink(&ctx_, kNearTop, 0x20, kSandboxFd, name, 1),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_link(&ctx_, kSandboxFd, 0, name, 1, kSandboxFd,
                                                size() - 1, 2),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_readlink(&ctx_, kSandboxFd, name, 1, size() - 2, 4, out),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_filestat_set_times(&ctx_, kSandboxFd, 0, kNearTop, 0x40,
                                                              0, 0, 0),
            w::kErrnoFault);
}

TEST_F(WasiMemory, StructResultsOutOfRange) {
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_get(&ctx_, 1, size() - 23), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_get(&ctx_, kSandboxFd, size() - 63),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_prestat_get(&ctx_, kSandboxFd, size() - 7),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(&ctx_, kSandboxFd, size() - 7, 8),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&ctx_, 1, 0, w::kWhenceCur, kNearTop),
            w::kErrnoSpipe);  // the pipe check comes first; a file shows the fault:
  uint32_t fd = 0;
  ASSERT_EQ(open(kSandboxFd, "f", w::kOflagCreat, kReadWrite, 0, &fd), 0u);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&ctx_, fd, 0, w::kWhenceCur, kNearTop),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_tell(&ctx_, fd, size() - 4), w::kErrnoFault);
  const uint32_t used = alloc(4);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_readdir(&ctx_, kSandboxFd, size() - 10, 100, 0, used),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_readdir(&ctx_, kSandboxFd, 64, 0xFFFFFFF0u, 0, used),
            w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_readdir(&ctx_, kSandboxFd, 64, 64, 0, kNearTop),
            w::kErrnoFault);
}

TEST_F(WasiMemory, PollOutOfRangeAndOverflow) {
  const uint32_t in = alloc(48), out = alloc(32), n = alloc(4);
  std::memset(at(in), 0, 48);
  at(in)[8] = w::kEventtypeClock;
  store<uint32_t>(in + 16, w::kClockMonotonic);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, size() - 40, out, 1, n), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, size() - 16, 1, n), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, out, 1, kNearTop + 14),
            w::kErrnoFault);
  // n * 48 would wrap a 32-bit multiplication to a small number.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, out, 0x05555556u, n), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, in, out, 0xFFFFFFFFu, n), w::kErrnoFault);
}

}  // namespace
}  // namespace samepage::test
