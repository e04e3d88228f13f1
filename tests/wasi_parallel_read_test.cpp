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
  ssize_t read_and_check(uint64_t first, uint64_t second, uint64_t offset) {
    std::vector<uint8_t> a(first, 0xee), b(second, 0xee);
    std::vector<struct iovec> iov = {{a.data(), a.size()}};
    if (second > 0) iov.push_back({b.data(), b.size()});
    EXPECT_TRUE(reads_in_pieces(iov) || std::thread::hardware_concurrency() < 2);
    const ssize_t n = read_in_pieces(fd_, iov, offset);
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

TEST_F(ParallelRead, BadDescriptorIsAnError) {
  std::vector<uint8_t> a(kParallelReadMinBytes);
  const std::vector<struct iovec> iov = {{a.data(), a.size()}};
  errno = 0;
  EXPECT_EQ(read_in_pieces(-1, iov, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(ParallelRead, SmallReadsStayWhole) {
  std::vector<uint8_t> a(kParallelReadMinBytes - 1);
  EXPECT_FALSE(reads_in_pieces({{a.data(), a.size()}}));
  EXPECT_FALSE(reads_in_pieces({}));
}

}  // namespace
}  // namespace samepage::wasi
