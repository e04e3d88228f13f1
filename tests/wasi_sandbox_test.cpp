// The WASI sandbox: no path leaves a preopen (.., absolute paths, symlinks
// to outside, trailing-slash tricks), and a read-only preopen refuses every
// change. Each escape is also checked on the host: nothing outside changed.
#include <sys/socket.h>
#include <sys/un.h>

#include "wasi_fixture.h"

namespace samepage::test {
namespace {

class WasiSandbox : public WasiFixture {
 protected:
  void SetUp() override {
    WasiFixture::SetUp();
    ASSERT_EQ(::mkdir((sandbox_ + "/a").c_str(), 0755), 0);
    // Links planted on the host, as a hostile guest could plant them.
    ASSERT_EQ(::symlink("/etc", (sandbox_ + "/to_etc").c_str()), 0);
    ASSERT_EQ(::symlink("..", (sandbox_ + "/to_parent").c_str()), 0);
    ASSERT_EQ(::symlink("../outside/secret.txt", (sandbox_ + "/to_secret").c_str()), 0);
    ASSERT_EQ(::symlink((outside_ + "/secret.txt").c_str(), (sandbox_ + "/abs_secret").c_str()), 0);
    ASSERT_EQ(::symlink("../outside", (sandbox_ + "/to_outside_dir").c_str()), 0);
  }

  // Every way to open `path` for reading fails with `expected`.
  void expect_open_fails(const std::string& path, uint32_t expected = w::kErrnoNotcapable) {
    uint32_t fd = 0;
    EXPECT_EQ(open(kSandboxFd, path, 0, kRead, 0, &fd), expected) << path;
    EXPECT_EQ(open(kSandboxFd, path, w::kOflagCreat, kReadWrite, 0, &fd), expected) << path;
    uint32_t fs = 0;
    EXPECT_EQ(stat(path, w::kLookupSymlinkFollow, &fs), expected) << path;
  }
};

TEST_F(WasiSandbox, DotDotCannotEscape) {
  expect_open_fails("../outside/secret.txt");
  expect_open_fails("..");
  expect_open_fails("a/../../outside/secret.txt");
  expect_open_fails("a/../..");
  expect_open_fails("./a/./../../sandbox/../outside/secret.txt");
  EXPECT_EQ(mkdir("../outside/new"), w::kErrnoNotcapable);
  EXPECT_EQ(mkdir("a/../../outside/new"), w::kErrnoNotcapable);
  EXPECT_EQ(unlink("../outside/secret.txt"), w::kErrnoNotcapable);
  EXPECT_EQ(rmdir(".."), w::kErrnoNotcapable);
  EXPECT_EQ(rmdir("a/../../outside"), w::kErrnoNotcapable);
  EXPECT_TRUE(host_exists(outside_ + "/secret.txt"));
  EXPECT_FALSE(host_exists(outside_ + "/new"));
  // Going down and back up inside the sandbox is fine.
  write_host_file(sandbox_ + "/inside.txt", "ok");
  uint32_t fd = 0;
  EXPECT_EQ(open(kSandboxFd, "a/../inside.txt", 0, kRead, 0, &fd), 0u);
}

TEST_F(WasiSandbox, AbsolutePathsAreRefused) {
  expect_open_fails("/etc/passwd");
  expect_open_fails("/");
  expect_open_fails(outside_ + "/secret.txt");
  EXPECT_EQ(mkdir(outside_ + "/new"), w::kErrnoNotcapable);
  EXPECT_EQ(unlink(outside_ + "/secret.txt"), w::kErrnoNotcapable);
  EXPECT_EQ(rename("a", outside_ + "/stolen"), w::kErrnoNotcapable);
  EXPECT_TRUE(host_exists(sandbox_ + "/a"));
  EXPECT_TRUE(host_exists(outside_ + "/secret.txt"));
}

TEST_F(WasiSandbox, SymlinksPointingOutsideAreNotFollowed) {
  expect_open_fails("to_etc/passwd");
  expect_open_fails("to_etc");
  expect_open_fails("to_parent/outside/secret.txt");
  expect_open_fails("to_parent");
  expect_open_fails("to_secret");
  expect_open_fails("abs_secret");
  expect_open_fails("to_outside_dir/secret.txt");
  expect_open_fails("a/../to_secret");
  // Not through parents either: creating, removing, renaming beneath them.
  EXPECT_EQ(mkdir("to_outside_dir/new"), w::kErrnoNotcapable);
  EXPECT_EQ(unlink("to_outside_dir/secret.txt"), w::kErrnoNotcapable);
  EXPECT_EQ(rename("to_outside_dir/secret.txt", "stolen"), w::kErrnoNotcapable);
  EXPECT_EQ(symlink("x", "to_outside_dir/planted"), w::kErrnoNotcapable);
  EXPECT_TRUE(host_exists(outside_ + "/secret.txt"));
  EXPECT_FALSE(host_exists(outside_ + "/new"));
  EXPECT_FALSE(host_exists(outside_ + "/planted"));
}

TEST_F(WasiSandbox, LinksThemselvesCanBeInspectedAndRemoved) {
  // lstat and readlink act on the link inside the sandbox, not its target.
  uint32_t fs = 0;
  ASSERT_EQ(stat("to_secret", 0, &fs), 0u);
  EXPECT_EQ(at(fs)[16], w::kFiletypeSymbolicLink);
  ASSERT_EQ(unlink("to_secret"), 0u);
  EXPECT_TRUE(host_exists(outside_ + "/secret.txt"));
  // A trailing slash would make the kernel follow the last component:
  // it must not follow it out.
  EXPECT_EQ(stat("to_outside_dir/", 0, &fs), w::kErrnoNotcapable);
  EXPECT_EQ(rmdir("to_outside_dir/"), w::kErrnoNotdir);
  EXPECT_TRUE(host_exists(outside_));
}

TEST_F(WasiSandbox, SetTimesAndHardLinksDoNotFollowOut) {
  struct stat before {};
  ASSERT_EQ(::stat((outside_ + "/secret.txt").c_str(), &before), 0);
  const uint32_t p = put("to_secret");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_filestat_set_times(
                &ctx_, kSandboxFd, w::kLookupSymlinkFollow, p, 9, 5, 5,
                w::kFstflagAtim | w::kFstflagMtim),
            w::kErrnoNotcapable);
  const uint32_t q = put("to_outside_dir/");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_filestat_set_times(&ctx_, kSandboxFd, 0, q, 15, 5, 5,
                                                              w::kFstflagMtim),
            w::kErrnoNotcapable);
  struct stat after {};
  ASSERT_EQ(::stat((outside_ + "/secret.txt").c_str(), &after), 0);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  ASSERT_EQ(::stat(outside_.c_str(), &after), 0);
  EXPECT_NE(after.st_mtim.tv_sec, 5);

  // link(follow) through an outside-pointing link would create a second
  // name for the outside file inside the sandbox.
  const uint32_t dst = put("stolen");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_link(&ctx_, kSandboxFd, w::kLookupSymlinkFollow, p, 9,
                                                kSandboxFd, dst, 6),
            w::kErrnoNotcapable);
  EXPECT_FALSE(host_exists(sandbox_ + "/stolen"));
  const uint32_t abs_src = put(outside_ + "/secret.txt");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_link(&ctx_, kSandboxFd, 0, abs_src,
                                                static_cast<uint32_t>(outside_.size() + 11),
                                                kSandboxFd, dst, 6),
            w::kErrnoNotcapable);
  EXPECT_FALSE(host_exists(sandbox_ + "/stolen"));
}

TEST_F(WasiSandbox, SymlinkCreationRules) {
  // Absolute targets can never resolve inside and are refused.
  EXPECT_EQ(symlink("/etc/passwd", "abs"), w::kErrnoNotcapable);
  EXPECT_FALSE(host_exists(sandbox_ + "/abs"));
  // Relative targets that climb above the preopen, counted from where the
  // link lives, are refused too: a host tool following them would leave it.
  EXPECT_EQ(symlink("../../outside/secret.txt", "a/up"), w::kErrnoNotcapable);
  EXPECT_EQ(symlink("../outside/secret.txt", "up"), w::kErrnoNotcapable);
  EXPECT_EQ(symlink("..", "up"), w::kErrnoNotcapable);
  EXPECT_EQ(symlink("a/../../outside", "up"), w::kErrnoNotcapable);
  EXPECT_EQ(symlink("./../outside", "a/../up"), w::kErrnoNotcapable);
  EXPECT_FALSE(host_exists(sandbox_ + "/a/up"));
  EXPECT_FALSE(host_exists(sandbox_ + "/up"));
  // Relative targets inside work, climbing too as long as they stay beneath.
  write_host_file(sandbox_ + "/a/t", "t");
  write_host_file(sandbox_ + "/top.txt", "top");
  ASSERT_EQ(symlink("t", "a/ok"), 0u);
  ASSERT_EQ(symlink("../top.txt", "a/up_ok"), 0u);
  ASSERT_EQ(symlink("./top.txt", "dotted"), 0u);
  // A ".." after a name is refused even when it would stay inside: the
  // name may be (or become) a link to "." and the ".." would then climb out.
  EXPECT_EQ(symlink("a/../top.txt", "via_a"), w::kErrnoNotcapable);
  ASSERT_EQ(mkdir("a/b"), 0u);
  ASSERT_EQ(symlink("../../a/t", "a/b/t2"), 0u);
  uint32_t fd = 0;
  EXPECT_EQ(open(kSandboxFd, "a/ok", 0, kRead, 0, &fd), 0u);
  EXPECT_EQ(open(kSandboxFd, "a/up_ok", 0, kRead, 0, &fd), 0u);
  EXPECT_EQ(open(kSandboxFd, "a/b/t2", 0, kRead, 0, &fd), 0u);
  // Depth counts from the preopen, not from the directory fd given.
  uint32_t sub = 0;
  ASSERT_EQ(open(kSandboxFd, "a/b", w::kOflagDirectory, kRead, 0, &sub), 0u);
  EXPECT_EQ(symlink("../../top.txt", "t3", sub), 0u);
  EXPECT_EQ(symlink("../../../outside", "t4", sub), w::kErrnoNotcapable);
  // A link moved or hard-linked up is checked at its new place.
  EXPECT_EQ(rename("a/b/t2", "t2"), w::kErrnoNotcapable);
  const uint32_t src = put("a/b/t2"), dst = put("t2");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_link(&ctx_, kSandboxFd, 0, src, 6, kSandboxFd, dst, 2),
            w::kErrnoNotcapable);
  EXPECT_FALSE(host_exists(sandbox_ + "/t2"));
  EXPECT_EQ(rename("a/b/t2", "a/b/t2_renamed"), 0u);
  EXPECT_EQ(rename("a/up_ok", "a/b/up_ok"), 0u);  // deeper is fine
}

TEST_F(WasiSandbox, OpenedSubdirectoryIsItsOwnBoundary) {
  uint32_t dir = 0;
  ASSERT_EQ(open(kSandboxFd, "a", w::kOflagDirectory, kRead, 0, &dir), 0u);
  write_host_file(sandbox_ + "/top.txt", "top");
  uint32_t fd = 0;
  EXPECT_EQ(open(dir, "../top.txt", 0, kRead, 0, &fd), w::kErrnoNotcapable);
  EXPECT_EQ(open(dir, "../../outside/secret.txt", 0, kRead, 0, &fd), w::kErrnoNotcapable);
}

TEST_F(WasiSandbox, ReadOnlyPreopenAllowsReading) {
  uint32_t fd = 0;
  ASSERT_EQ(open(kReadOnlyFd, "data.txt", 0, kRead, 0, &fd), 0u);
  std::string data;
  ASSERT_EQ(read(fd, 64, &data), 0u);
  EXPECT_EQ(data, "read only data");
  uint32_t fs = 0;
  EXPECT_EQ(stat("data.txt", 0, &fs, kReadOnlyFd), 0u);
  const uint32_t buf = alloc(4096), used = alloc(4);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_readdir(&ctx_, kReadOnlyFd, buf, 4096, 0, used), 0u);
  EXPECT_GT(load<uint32_t>(used), 0u);
  // The file's descriptor carries no mutating right at all.
  const uint32_t st = alloc(24);
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_fd_fdstat_get(&ctx_, fd, st), 0u);
  EXPECT_EQ(load<uint64_t>(st + 8) & w::kRightsMutating, 0u);
}

TEST_F(WasiSandbox, ReadOnlyPreopenRefusesEveryChange) {
  const uint32_t ro = kReadOnlyFd;
  uint32_t fd = 0;
  EXPECT_EQ(open(ro, "data.txt", 0, kReadWrite, 0, &fd), w::kErrnoNotcapable);
  EXPECT_EQ(open(ro, "new.txt", w::kOflagCreat, kRead, 0, &fd), w::kErrnoNotcapable);
  EXPECT_EQ(open(ro, "data.txt", w::kOflagTrunc, kRead, 0, &fd), w::kErrnoNotcapable);
  EXPECT_EQ(mkdir("d", ro), w::kErrnoNotcapable);
  EXPECT_EQ(unlink("data.txt", ro), w::kErrnoNotcapable);
  EXPECT_EQ(rmdir(".", ro), w::kErrnoNotcapable);
  EXPECT_EQ(rename("data.txt", "moved.txt", ro), w::kErrnoNotcapable);
  EXPECT_EQ(symlink("data.txt", "ln", ro), w::kErrnoNotcapable);
  const uint32_t p = put("data.txt"), q = put("hard");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_filestat_set_times(&ctx_, ro, 0, p, 8, 1, 1,
                                                              w::kFstflagMtim),
            w::kErrnoNotcapable);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_link(&ctx_, ro, 0, p, 8, ro, q, 4), w::kErrnoNotcapable);
  // Nor out of it into a writable preopen: a hard link would make it writable there.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_link(&ctx_, ro, 0, p, 8, kSandboxFd, q, 4),
            w::kErrnoNotcapable);
  const uint32_t r = put("moved");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_rename(&ctx_, ro, p, 8, kSandboxFd, r, 5),
            w::kErrnoNotcapable);
  // Descriptors opened for reading cannot change the file either.
  ASSERT_EQ(open(ro, "data.txt", 0, kRead, 0, &fd), 0u);
  uint32_t n = 0;
  EXPECT_EQ(write(fd, "x", &n), w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_size(&ctx_, fd, 0), w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_times(&ctx_, fd, 1, 1, w::kFstflagMtim),
            w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_allocate(&ctx_, fd, 0, 10), w::kErrnoBadf);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_filestat_set_times(&ctx_, ro, 1, 1, w::kFstflagMtim),
            w::kErrnoBadf);
  // Subdirectories opened under it are read-only too.
  ASSERT_EQ(::mkdir((read_only_ + "/sub").c_str(), 0755), 0);
  uint32_t sub = 0;
  ASSERT_EQ(open(ro, "sub", w::kOflagDirectory, kRead, 0, &sub), 0u);
  EXPECT_EQ(open(sub, "x", w::kOflagCreat, kReadWrite, 0, &fd), w::kErrnoNotcapable);
  EXPECT_EQ(mkdir("y", sub), w::kErrnoNotcapable);
  // Nothing changed on the host.
  EXPECT_EQ(read_host_file(read_only_ + "/data.txt"), "read only data");
  EXPECT_FALSE(host_exists(read_only_ + "/new.txt"));
  EXPECT_FALSE(host_exists(read_only_ + "/d"));
  EXPECT_FALSE(host_exists(sandbox_ + "/hard"));
  EXPECT_FALSE(host_exists(sandbox_ + "/moved"));
}

// Kernel pseudo file systems and device nodes stay out of reach even when the
// host preopens "/" (DESIGN.md §6): they expose the host's environment,
// memory and devices, not files.
class WasiSandboxSpecialFiles : public WasiSandbox {
 protected:
  void SetUp() override {
    WasiSandbox::SetUp();
    WasiConfig config;
    config.preopens = {{"/", "/", false}, {"/", "/rw", true}};
    config.stdin_fd = config.stdout_fd = config.stderr_fd = -1;
    auto wasi = WasiContext::create(config);
    ASSERT_TRUE(wasi.is_ok()) << wasi.message();
    root_wasi_ = std::move(wasi.value());
    ctx_.wasi = root_wasi_.get();
  }
  void TearDown() override {
    ctx_.wasi = wasi_.get();
    root_wasi_.reset();
    WasiSandbox::TearDown();
  }
  static constexpr uint32_t kRootFd = 3, kRootRwFd = 4;
  std::unique_ptr<WasiContext> root_wasi_;
};

TEST_F(WasiSandboxSpecialFiles, ProcSysAndDevicesCannotBeOpened) {
  uint32_t fd = 0, fs = 0;
  for (const char* path : {"proc/self/environ", "proc/self/maps", "proc/self/mem", "proc/self/status",
                           "proc", "proc/self", "proc/1", "sys", "sys/kernel", "dev/null",
                           "dev/zero", "dev/full", "dev/urandom"}) {
    if (!host_exists(std::string("/") + path)) continue;
    EXPECT_EQ(open(kRootFd, path, 0, kRead, 0, &fd), w::kErrnoAcces) << path;
    EXPECT_EQ(open(kRootFd, path, 0, kRead, w::kFdflagNonblock, &fd), w::kErrnoAcces) << path;
    EXPECT_EQ(open(kRootRwFd, path, 0, kReadWrite, 0, &fd), w::kErrnoAcces) << path;
  }
  for (const char* path : {"proc", "proc/self", "sys", "sys/kernel"}) {
    if (!host_exists(std::string("/") + path)) continue;
    EXPECT_EQ(open(kRootFd, path, w::kOflagDirectory, kRead, 0, &fd), w::kErrnoAcces) << path;
    EXPECT_EQ(stat(path, w::kLookupSymlinkFollow, &fs, kRootFd), w::kErrnoAcces) << path;
  }
  EXPECT_EQ(stat("proc/self/environ", 0, &fs, kRootFd), w::kErrnoAcces);
  EXPECT_EQ(mkdir("proc/x", kRootRwFd), w::kErrnoAcces);
  // Through a directory fd opened on the way, too: the check is on what was opened.
  uint32_t dir = 0;
  ASSERT_EQ(open(kRootFd, ".", w::kOflagDirectory, kRead, 0, &dir), 0u);
  EXPECT_EQ(open(dir, "proc/self/environ", 0, kRead, 0, &fd), w::kErrnoAcces);
  // Ordinary files and directories under "/" stay readable.
  EXPECT_EQ(open(kRootFd, "etc/passwd", 0, kRead, 0, &fd), 0u);
  EXPECT_EQ(open(kRootFd, "etc", w::kOflagDirectory, kRead, 0, &fd), 0u);
  EXPECT_EQ(stat("dev/null", 0, &fs, kRootFd), 0u);  // a stat opens no device
}

TEST_F(WasiSandbox, FifosAndSocketsCannotBeOpened) {
  ASSERT_EQ(::mkfifo((sandbox_ + "/fifo").c_str(), 0644), 0);
  uint32_t fd = 0;
  // Non-blocking first: the old code opened it; a blocking open would hang there.
  ASSERT_EQ(open(kSandboxFd, "fifo", 0, kRead, w::kFdflagNonblock, &fd), w::kErrnoAcces);
  EXPECT_EQ(open(kSandboxFd, "fifo", 0, kRead, 0, &fd), w::kErrnoAcces);
  EXPECT_EQ(open(kSandboxFd, "fifo", w::kOflagCreat, kRead, 0, &fd), w::kErrnoAcces);
  EXPECT_EQ(open(kSandboxFd, "fifo", 0, kReadWrite, 0, &fd), w::kErrnoAcces);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = sandbox_ + "/sock";
  ASSERT_LT(sock_path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(open(kSandboxFd, "sock", 0, kRead, 0, &fd), w::kErrnoAcces);
  ::close(sock);
  // They can still be seen and removed.
  uint32_t fs = 0;
  EXPECT_EQ(stat("fifo", 0, &fs), 0u);
  EXPECT_EQ(unlink("fifo"), 0u);
  EXPECT_EQ(unlink("sock"), 0u);
}

TEST(WasiContextCreate, PseudoFileSystemPreopensAreRefused) {
  for (const char* host : {"/proc", "/proc/self", "/sys", "/sys/kernel"}) {
    struct stat st {};
    if (::stat(host, &st) != 0) continue;
    WasiConfig config;
    config.preopens = {{host, "/p", false}};
    config.stdin_fd = config.stdout_fd = config.stderr_fd = -1;
    auto wasi = WasiContext::create(config);
    ASSERT_FALSE(wasi.is_ok()) << host;
    EXPECT_NE(wasi.message().find("[wasi::preopen]"), std::string::npos) << wasi.message();
    EXPECT_NE(wasi.message().find(host), std::string::npos) << wasi.message();
    EXPECT_NE(wasi.message().find("pseudo file system"), std::string::npos) << wasi.message();
  }
}

TEST_F(WasiSandbox, PathsWithNulOrOverlongAreRefused) {
  uint32_t fd = 0;
  EXPECT_EQ(open(kSandboxFd, std::string("a\0/../../outside", 16), 0, kRead, 0, &fd),
            w::kErrnoInval);
  EXPECT_EQ(open(kSandboxFd, std::string(5000, 'x'), 0, kRead, 0, &fd), w::kErrnoNametoolong);
}

}  // namespace
}  // namespace samepage::test
