// Test fixture for calling the WASI host functions directly: a 1 MiB fake
// guest memory, a GuestContext, a fresh temp dir per test with a writable
// preopen "/sandbox" (guest fd 3), a read-only preopen "/ro" (fd 4) and a
// directory "outside" next to them that no guest path may reach. Guest
// stdin/stdout are pipes the test can feed and drain.
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "guest_call/guest_context.h"
#include "wasi/wasi_abi.h"
#include "wasi/wasi_context.h"
#include "wasi/wasi_functions.h"

namespace samepage::test {

namespace w = samepage::wasi;

constexpr uint32_t kSandboxFd = 3;
constexpr uint32_t kReadOnlyFd = 4;
constexpr uint32_t kGuestMemoryBytes = 1u << 20;

inline void write_host_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_host_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool host_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

class WasiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/samepage-wasi-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    sandbox_ = root_ + "/sandbox";
    read_only_ = root_ + "/ro";
    outside_ = root_ + "/outside";
    ASSERT_EQ(::mkdir(sandbox_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(read_only_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    write_host_file(outside_ + "/secret.txt", "outside secret");
    write_host_file(read_only_ + "/data.txt", "read only data");

    ASSERT_EQ(::pipe(stdin_pipe_), 0);
    ASSERT_EQ(::pipe(stdout_pipe_), 0);

    memory_bytes_ = static_cast<uint8_t*>(std::aligned_alloc(65536, kGuestMemoryBytes));
    ASSERT_NE(memory_bytes_, nullptr);
    std::memset(memory_bytes_, 0, kGuestMemoryBytes);
    memory_.data = memory_bytes_;
    memory_.pages = kGuestMemoryBytes / 65536;
    memory_.max_pages = memory_.pages;
    memory_.size = kGuestMemoryBytes;

    WasiConfig config;
    config.args = {"prog", "hello", "wörld"};
    config.env = {"A=1", "LONGER_NAME=some value"};
    config.preopens = {{sandbox_, "/sandbox", true}, {read_only_, "/ro", false}};
    config.stdin_fd = stdin_pipe_[0];
    config.stdout_fd = stdout_pipe_[1];
    config.stderr_fd = 2;
    auto wasi = WasiContext::create(config);
    ASSERT_TRUE(wasi.is_ok()) << wasi.message();
    wasi_ = std::move(wasi.value());
    ctx_.memory = &memory_;
    ctx_.wasi = wasi_.get();
  }

  void TearDown() override {
    wasi_.reset();
    for (int fd : {stdin_pipe_[0], stdin_pipe_[1], stdout_pipe_[0], stdout_pipe_[1]}) {
      if (fd >= 0) ::close(fd);
    }
    std::free(memory_bytes_);
    // FTW_PHYS: never follow the symlinks tests planted.
    ::nftw(
        root_.c_str(),
        [](const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); },
        16, FTW_DEPTH | FTW_PHYS);
  }

  // --- guest memory ---
  uint8_t* at(uint32_t offset) { return memory_bytes_ + offset; }
  // Bump allocation from 4 KiB up; 8-byte aligned.
  uint32_t alloc(uint32_t n) {
    const uint32_t offset = next_;
    next_ = (next_ + n + 7) & ~7u;
    EXPECT_LT(next_, kGuestMemoryBytes);
    return offset;
  }
  uint32_t put(const std::string& s) {
    const uint32_t offset = alloc(static_cast<uint32_t>(s.size()) + 1);
    std::memcpy(at(offset), s.data(), s.size());
    return offset;
  }
  template <typename T>
  T load(uint32_t offset) {
    T v;
    std::memcpy(&v, at(offset), sizeof(T));
    return v;
  }
  template <typename T>
  void store(uint32_t offset, T v) {
    std::memcpy(at(offset), &v, sizeof(T));
  }
  // One iovec {buf, len} in guest memory.
  uint32_t iovec(uint32_t buf, uint32_t len) {
    const uint32_t iov = alloc(8);
    store<uint32_t>(iov, buf);
    store<uint32_t>(iov + 4, len);
    return iov;
  }

  // --- WASI calls with guest-side plumbing ---
  uint32_t open(uint32_t dir, const std::string& path, uint32_t oflags, uint64_t rights,
                uint32_t fdflags, uint32_t* fd, uint32_t lookup = w::kLookupSymlinkFollow) {
    const uint32_t p = put(path);
    const uint32_t out = alloc(4);
    const uint32_t e = Z_wasi_snapshot_preview1Z_path_open(
        &ctx_, dir, lookup, p, static_cast<uint32_t>(path.size()), oflags, rights,
        w::kRightsAll, fdflags, out);
    if (e == 0) *fd = load<uint32_t>(out);
    return e;
  }
  // The rights wasi-libc asks path_open for: everything the directory passes
  // on, minus the write rights for a read-only open.
  static constexpr uint64_t kReadWrite = w::kRightsAll;
  static constexpr uint64_t kRead =
      w::kRightsAll & ~(w::kRightFdWrite | w::kRightFdDatasync | w::kRightFdAllocate |
                        w::kRightFdFilestatSetSize);

  uint32_t write(uint32_t fd, const std::string& data, uint32_t* n) {
    const uint32_t buf = put(data);
    const uint32_t iov = iovec(buf, static_cast<uint32_t>(data.size()));
    const uint32_t out = alloc(4);
    const uint32_t e = Z_wasi_snapshot_preview1Z_fd_write(&ctx_, fd, iov, 1, out);
    *n = load<uint32_t>(out);
    return e;
  }
  uint32_t read(uint32_t fd, uint32_t max, std::string* data) {
    const uint32_t buf = alloc(max);
    const uint32_t iov = iovec(buf, max);
    const uint32_t out = alloc(4);
    const uint32_t e = Z_wasi_snapshot_preview1Z_fd_read(&ctx_, fd, iov, 1, out);
    if (e == 0) data->assign(reinterpret_cast<char*>(at(buf)), load<uint32_t>(out));
    return e;
  }
  uint32_t path_call(uint32_t (*fn)(GuestContext*, uint32_t, uint32_t, uint32_t), uint32_t dir,
                     const std::string& path) {
    return fn(&ctx_, dir, put(path), static_cast<uint32_t>(path.size()));
  }
  uint32_t mkdir(const std::string& path, uint32_t dir = kSandboxFd) {
    return path_call(Z_wasi_snapshot_preview1Z_path_create_directory, dir, path);
  }
  uint32_t unlink(const std::string& path, uint32_t dir = kSandboxFd) {
    return path_call(Z_wasi_snapshot_preview1Z_path_unlink_file, dir, path);
  }
  uint32_t rmdir(const std::string& path, uint32_t dir = kSandboxFd) {
    return path_call(Z_wasi_snapshot_preview1Z_path_remove_directory, dir, path);
  }
  uint32_t rename(const std::string& from, const std::string& to, uint32_t dir = kSandboxFd) {
    return Z_wasi_snapshot_preview1Z_path_rename(&ctx_, dir, put(from),
                                                 static_cast<uint32_t>(from.size()), dir, put(to),
                                                 static_cast<uint32_t>(to.size()));
  }
  uint32_t symlink(const std::string& target, const std::string& path, uint32_t dir = kSandboxFd) {
    return Z_wasi_snapshot_preview1Z_path_symlink(&ctx_, put(target),
                                                  static_cast<uint32_t>(target.size()), dir,
                                                  put(path), static_cast<uint32_t>(path.size()));
  }
  uint32_t stat(const std::string& path, uint32_t lookup, uint32_t* filestat,
                uint32_t dir = kSandboxFd) {
    *filestat = alloc(64);
    return Z_wasi_snapshot_preview1Z_path_filestat_get(
        &ctx_, dir, lookup, put(path), static_cast<uint32_t>(path.size()), *filestat);
  }
  uint32_t close(uint32_t fd) { return Z_wasi_snapshot_preview1Z_fd_close(&ctx_, fd); }

  std::string root_, sandbox_, read_only_, outside_;
  int stdin_pipe_[2] = {-1, -1};
  int stdout_pipe_[2] = {-1, -1};
  uint8_t* memory_bytes_ = nullptr;
  wasm_rt_memory_t memory_{};
  std::unique_ptr<WasiContext> wasi_;
  GuestContext ctx_;
  uint32_t next_ = 4096;
};

}  // namespace samepage::test
