// WASI file operations under a temp preopen: create, read, write, positioned
// I/O, seek/tell, append, truncate, stat, set-times, fdstat flags and rights,
// renumber.
#include "wasi_fixture.h"

namespace samepage::test {
namespace {

class WasiFiles : public WasiFixture {};

TEST_F(WasiFiles, CreateWriteReadClose) {
  uint32_t fd = 0, n = 0;
  ASSERT_EQ(open(kSandboxFd, "new.txt", w::kOflagCreat, kReadWrite, 0, &fd), 0u);
  EXPECT_GE(fd, 5u);
  ASSERT_EQ(write(fd, "hello, file", &n), 0u);
  EXPECT_EQ(n, 11u);
  ASSERT_EQ(close(fd), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/new.txt"), "hello, file");

  ASSERT_EQ(open(kSandboxFd, "new.txt", 0, kRead, 0, &fd), 0u);
  std::string data;
  ASSERT_EQ(read(fd, 5, &data), 0u);
  EXPECT_EQ(data, "hello");
  ASSERT_EQ(read(fd, 100, &data), 0u);
  EXPECT_EQ(data, ", file");
  ASSERT_EQ(read(fd, 100, &data), 0u);
  EXPECT_EQ(data, "");
  // Opened without FD_WRITE: writing is refused, and the host fd is O_RDONLY anyway.
  EXPECT_EQ(write(fd, "x", &n), w::kErrnoBadf);
  EXPECT_EQ(close(fd), 0u);
  EXPECT_EQ(close(fd), w::kErrnoBadf);
}

TEST_F(WasiFiles, OpenFlagsExclTruncDirectory) {
  write_host_file(sandbox_ + "/f", "0123456789");
  uint32_t fd = 0;
  EXPECT_EQ(open(kSandboxFd, "f", w::kOflagCreat | w::kOflagExcl, kReadWrite, 0, &fd),
            w::kErrnoExist);
  EXPECT_EQ(open(kSandboxFd, "missing", 0, kRead, 0, &fd), w::kErrnoNoent);
  EXPECT_EQ(open(kSandboxFd, "f", w::kOflagDirectory, kRead, 0, &fd), w::kErrnoNotdir);
  ASSERT_EQ(open(kSandboxFd, "f", w::kOflagTrunc, kReadWrite, 0, &fd), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/f"), "");
  EXPECT_EQ(close(fd), 0u);
  EXPECT_EQ(open(kSandboxFd, "", 0, kRead, 0, &fd), w::kErrnoNoent);
}

TEST_F(WasiFiles, PreadPwriteSeekTell) {
  uint32_t fd = 0, n = 0;
  ASSERT_EQ(open(kSandboxFd, "p.bin", w::kOflagCreat, kReadWrite, 0, &fd), 0u);
  ASSERT_EQ(write(fd, "abcdefghij", &n), 0u);

  const uint32_t buf = put("XY");
  const uint32_t iov = iovec(buf, 2), out = alloc(8);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_pwrite(&ctx_, fd, iov, 1, 3, out), 0u);
  EXPECT_EQ(load<uint32_t>(out), 2u);
  // pwrite leaves the position alone.
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_tell(&ctx_, fd, out), 0u);
  EXPECT_EQ(load<uint64_t>(out), 10u);

  const uint32_t rbuf = alloc(4), riov = iovec(rbuf, 4);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_pread(&ctx_, fd, riov, 1, 2, out), 0u);
  EXPECT_EQ(load<uint32_t>(out), 4u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(at(rbuf)), 4), "cXYf");

  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&ctx_, fd, static_cast<uint64_t>(-3), w::kWhenceEnd, out), 0u);
  EXPECT_EQ(load<uint64_t>(out), 7u);
  std::string data;
  ASSERT_EQ(read(fd, 10, &data), 0u);
  EXPECT_EQ(data, "hij");
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&ctx_, fd, 1, w::kWhenceSet, out), 0u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&ctx_, fd, 2, w::kWhenceCur, out), 0u);
  EXPECT_EQ(load<uint64_t>(out), 3u);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&ctx_, fd, 0, 3, out), w::kErrnoInval);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&ctx_, fd, static_cast<uint64_t>(-100), w::kWhenceSet, out),
            w::kErrnoInval);
  // Two iovecs gather in order.
  const uint32_t a = put("12"), b = put("345");
  const uint32_t iovs = alloc(16);
  store<uint32_t>(iovs, a);
  store<uint32_t>(iovs + 4, 2);
  store<uint32_t>(iovs + 8, b);
  store<uint32_t>(iovs + 12, 3);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_pwrite(&ctx_, fd, iovs, 2, 0, out), 0u);
  EXPECT_EQ(load<uint32_t>(out), 5u);
  EXPECT_EQ(close(fd), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/p.bin"), "12345fghij");
  // Seeking a pipe is ESPIPE, as in POSIX.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_seek(&ctx_, 1, 0, w::kWhenceSet, out), w::kErrnoSpipe);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_tell(&ctx_, 1, out), w::kErrnoSpipe);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_tell(&ctx_, kSandboxFd, out), w::kErrnoBadf);
}

TEST_F(WasiFiles, AppendFlagAndFdstatFlags) {
  write_host_file(sandbox_ + "/log", "one\n");
  uint32_t fd = 0, n = 0;
  ASSERT_EQ(open(kSandboxFd, "log", 0, kReadWrite, w::kFdflagAppend, &fd), 0u);
  const uint32_t st = alloc(24);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_get(&ctx_, fd, st), 0u);
  EXPECT_EQ(at(st)[0], w::kFiletypeRegularFile);
  EXPECT_EQ(load<uint16_t>(st + 2), w::kFdflagAppend);
  EXPECT_TRUE(load<uint64_t>(st + 8) & w::kRightFdWrite);
  EXPECT_FALSE(load<uint64_t>(st + 8) & w::kRightPathOpen);  // not a file right
  ASSERT_EQ(write(fd, "two\n", &n), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/log"), "one\ntwo\n");

  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(&ctx_, fd, w::kFdflagNonblock), 0u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_get(&ctx_, fd, st), 0u);
  EXPECT_EQ(load<uint16_t>(st + 2), w::kFdflagNonblock);
  // The sync mode cannot change after open on Linux: refused, not faked.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(&ctx_, fd, w::kFdflagSync),
            w::kErrnoNotsup);
  EXPECT_EQ(close(fd), 0u);
}

TEST_F(WasiFiles, RightsOnlyShrink) {
  uint32_t fd = 0, n = 0;
  ASSERT_EQ(open(kSandboxFd, "r", w::kOflagCreat, kReadWrite, 0, &fd), 0u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(&ctx_, fd, kRead & w::kRightsFile, 0), 0u);
  EXPECT_EQ(write(fd, "x", &n), w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(&ctx_, fd, kReadWrite, 0),
            w::kErrnoNotcapable);
  // A directory that dropped PATH_CREATE_FILE cannot create any more.
  const uint64_t dir_rights = w::kRightsDirectory & ~w::kRightPathCreateFile;
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(&ctx_, kSandboxFd, dir_rights,
                                                           w::kRightsAll),
            0u);
  EXPECT_EQ(open(kSandboxFd, "s", w::kOflagCreat, kReadWrite, 0, &fd), w::kErrnoNotcapable);
}

TEST_F(WasiFiles, TruncateWithFilestatSetSize) {
  write_host_file(sandbox_ + "/t", "0123456789");
  uint32_t fd = 0;
  ASSERT_EQ(open(kSandboxFd, "t", 0, kReadWrite, 0, &fd), 0u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_size(&ctx_, fd, 4), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/t"), "0123");
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_size(&ctx_, fd, 6), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/t"), std::string("0123\0\0", 6));
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_size(&ctx_, fd, ~0ull), w::kErrnoInval);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_allocate(&ctx_, fd, 0, 100), 0u);
  const uint32_t fs = alloc(64);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_get(&ctx_, fd, fs), 0u);
  EXPECT_EQ(load<uint64_t>(fs + 32), 100u);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_advise(&ctx_, fd, 0, 100, w::kAdviceSequential), 0u);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_advise(&ctx_, fd, 0, 100, 17), w::kErrnoInval);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_datasync(&ctx_, fd), 0u);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_sync(&ctx_, fd), 0u);
  EXPECT_EQ(close(fd), 0u);
  // A read-only descriptor cannot truncate.
  ASSERT_EQ(open(kSandboxFd, "t", 0, kRead, 0, &fd), 0u);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_size(&ctx_, fd, 0), w::kErrnoBadf);
}

TEST_F(WasiFiles, FilestatAndSetTimes) {
  write_host_file(sandbox_ + "/s", "12345");
  struct stat host {};
  ASSERT_EQ(::stat((sandbox_ + "/s").c_str(), &host), 0);
  uint32_t fs = 0;
  ASSERT_EQ(stat("s", w::kLookupSymlinkFollow, &fs), 0u);
  EXPECT_EQ(load<uint64_t>(fs + 0), static_cast<uint64_t>(host.st_dev));
  EXPECT_EQ(load<uint64_t>(fs + 8), static_cast<uint64_t>(host.st_ino));
  EXPECT_EQ(at(fs)[16], w::kFiletypeRegularFile);
  EXPECT_EQ(load<uint64_t>(fs + 24), 1u);
  EXPECT_EQ(load<uint64_t>(fs + 32), 5u);

  const uint64_t atim = 1'000'000'000ull * 1'600'000'000ull + 123;
  const uint64_t mtim = 1'000'000'000ull * 1'500'000'000ull + 456'000;
  const uint32_t p = put("s");
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_path_filestat_set_times(
                &ctx_, kSandboxFd, w::kLookupSymlinkFollow, p, 1, atim, mtim,
                w::kFstflagAtim | w::kFstflagMtim),
            0u);
  ASSERT_EQ(stat("s", 0, &fs), 0u);
  EXPECT_EQ(load<uint64_t>(fs + 40), atim);
  EXPECT_EQ(load<uint64_t>(fs + 48), mtim);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_filestat_set_times(
                &ctx_, kSandboxFd, 0, p, 1, 0, 0, w::kFstflagAtim | w::kFstflagAtimNow),
            w::kErrnoInval);

  uint32_t fd = 0;
  ASSERT_EQ(open(kSandboxFd, "s", 0, kRead, 0, &fd), 0u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_times(&ctx_, fd, 0, 42'000'000'000ull,
                                                            w::kFstflagMtim),
            0u);
  const uint32_t fs2 = alloc(64);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_get(&ctx_, fd, fs2), 0u);
  EXPECT_EQ(load<uint64_t>(fs2 + 48), 42'000'000'000ull);
  EXPECT_EQ(load<uint64_t>(fs2 + 40), atim);  // untouched
  // MTIM_NOW moves the time to about now.
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_times(&ctx_, fd, 0, 0, w::kFstflagMtimNow), 0u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_get(&ctx_, fd, fs2), 0u);
  EXPECT_GT(load<uint64_t>(fs2 + 48), 1'600'000'000ull * 1'000'000'000ull);
  // The preopen itself (an O_PATH fd) can be stat'ed too.
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_get(&ctx_, kSandboxFd, fs2), 0u);
  EXPECT_EQ(at(fs2)[16], w::kFiletypeDirectory);
}

TEST_F(WasiFiles, RenumberMovesDescriptor) {
  uint32_t a = 0, b = 0, n = 0;
  ASSERT_EQ(open(kSandboxFd, "a", w::kOflagCreat, kReadWrite, 0, &a), 0u);
  ASSERT_EQ(open(kSandboxFd, "b", w::kOflagCreat, kReadWrite, 0, &b), 0u);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_renumber(&ctx_, a, b), 0u);
  ASSERT_EQ(write(b, "to a", &n), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/a"), "to a");
  EXPECT_EQ(read_host_file(sandbox_ + "/b"), "");
  EXPECT_EQ(close(a), w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_renumber(&ctx_, b, 99), w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_renumber(&ctx_, 98, b), w::kErrnoBadf);
  // The freed number is reused first.
  uint32_t c = 0;
  ASSERT_EQ(open(kSandboxFd, "c", w::kOflagCreat, kReadWrite, 0, &c), 0u);
  EXPECT_EQ(c, a);
}

TEST_F(WasiFiles, DirectoryDescriptorsRefuseFileIo) {
  uint32_t fd = 0, n = 0;
  ASSERT_EQ(mkdir("d"), 0u);
  ASSERT_EQ(open(kSandboxFd, "d", w::kOflagDirectory, kRead, 0, &fd), 0u);
  std::string data;
  EXPECT_EQ(read(fd, 10, &data), w::kErrnoIsdir);
  EXPECT_EQ(write(fd, "x", &n), w::kErrnoIsdir);
  EXPECT_EQ(open(kSandboxFd, "d", 0, kReadWrite, 0, &fd), w::kErrnoIsdir);
  EXPECT_EQ(read(kSandboxFd, 10, &data), w::kErrnoIsdir);
}

}  // namespace
}  // namespace samepage::test
