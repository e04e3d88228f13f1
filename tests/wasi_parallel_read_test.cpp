// A large read of a regular file on several threads (wasi/wasi_parallel_read.h):
// the bytes and the count preadv would give, at any offset, past the end of
// the file, and on a bad descriptor.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "wasi/wasi_parallel_read.h"

namespace samepage::wasi {
namespace {

uint8_t byte_at(uint64_t i) { return uint8_t((i * 2654435761u) >> 13); }

class ParallelRead : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/samepage-parallel-read-XXXXXX";
    fd_ = mkstemp(name);
    ASSERT_GE(fd_, 0);
    path_ = name;
    std::vector<uint8_t> bytes(kFileBytes);
    for (uint64_t i = 0; i < kFileBytes; ++i) bytes[i] = byte_at(i);
    ASSERT_EQ(::write(fd_, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) std::remove(path_.c_str());
  }
  // Reads into a buffer of `first` bytes then one of `second`, from offset;
  // checks every byte read against the file and returns the count.
  ssize_t read_and_check(uint64_t first, uint64_t second, uint64_t offset, uint64_t max_bytes = kMaxReadBytes) {
    std::vector<uint8_t> a(first, 0xee), b(second, 0xee);
    std::vector<struct iovec> iov = {{a.data(), a.size()}};
    if (second > 0) iov.push_back({b.data(), b.size()});
    const ssize_t n = read_in_pieces(fd_, iov, offset, max_bytes);
    for (uint64_t i = 0; n > 0 && i < uint64_t(n); ++i) {
      const uint8_t got = i < first ? a[i] : b[i - first];
      if (got != byte_at(offset + i)) {
        ADD_FAILURE() << "byte " << i << " of the read (file offset " << offset + i << ")";
        break;
      }
    }
    return n;
  }

  static constexpr uint64_t kFileBytes = (uint64_t{20} << 20) + 12345;
  int fd_ = -1;
  std::string path_;
};

TEST_F(ParallelRead, ReadsWhatPreadvWould) {
  EXPECT_EQ(read_and_check(kParallelReadMinBytes, 0, 0), ssize_t(kParallelReadMinBytes));
  // As stdio reads: most of the request into the caller's buffer, then its own.
  EXPECT_EQ(read_and_check(uint64_t{12} << 20, 1024, 777), ssize_t((uint64_t{12} << 20) + 1024));
}

TEST_F(ParallelRead, StopsAtTheEndOfTheFile) {
  // The last pieces start past the end: the count is what the file holds.
  const uint64_t offset = uint64_t{9} << 20;
  EXPECT_EQ(read_and_check(uint64_t{16} << 20, 4096, offset), ssize_t(kFileBytes - offset));
  // The first buffer whole, the second short.
  EXPECT_EQ(read_and_check(kFileBytes - 100, 4096, 0), ssize_t(kFileBytes));
  // Nothing at all past the end.
  EXPECT_EQ(read_and_check(kParallelReadMinBytes, 0, kFileBytes + 1), 0);
}

TEST_F(ParallelRead, ReturnsNoMoreThanOneReadMay) {
  // The cap inside the first buffer, and inside the second.
  const uint64_t cap = (uint64_t{9} << 20) + 3;
  EXPECT_EQ(read_and_check(uint64_t{16} << 20, 4096, 5, cap), ssize_t(cap));
  EXPECT_EQ(read_and_check(uint64_t{9} << 20, 4096, 5, cap), ssize_t(cap));
}

TEST_F(ParallelRead, OnlyLargeReadsOfALargeEnoughRestGoInPieces) {
  std::vector<uint8_t> a(kParallelReadMinBytes);
  const std::vector<struct iovec> iov = {{a.data(), a.size()}};
  EXPECT_EQ(reads_in_pieces(fd_, iov, 0), std::thread::hardware_concurrency() >= 2);
  // Less than kParallelReadMinBytes of the file left past the offset.
  EXPECT_FALSE(reads_in_pieces(fd_, iov, kFileBytes - kParallelReadMinBytes + 1));
  EXPECT_FALSE(reads_in_pieces(fd_, iov, kFileBytes + 100));
  // A buffer under the threshold; none; not a regular file.
  std::vector<uint8_t> small(kParallelReadMinBytes - 1);
  EXPECT_FALSE(reads_in_pieces(fd_, {{small.data(), small.size()}}, 0));
  EXPECT_FALSE(reads_in_pieces(fd_, {}, 0));
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  EXPECT_FALSE(reads_in_pieces(pipe_fds[0], iov, 0));
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST_F(ParallelRead, BadDescriptorIsAnError) {
  std::vector<uint8_t> a(kParallelReadMinBytes);
  const std::vector<struct iovec> iov = {{a.data(), a.size()}};
  errno = 0;
  EXPECT_EQ(read_in_pieces(-1, iov, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace samepage::wasi
