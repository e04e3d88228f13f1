// A large read of a regular file split among threads: each reads its own
// piece of the file with pread into its own piece of the guest's buffer.
// One thread copying from the page cache moves a few GB/s; a session or
// model file of tens of MB read that way is most of a restore (an LLM
// session of 512 tokens on the H200 machine: 4.6 of its 6.2 ms). Used by
// fd_read and fd_pread (wasi_fd_io.cpp) for regular files the guest opened.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <vector>

namespace samepage::wasi {

// Reads whose first buffer and whose file past the offset both hold at
// least this many bytes go in pieces.
inline constexpr uint64_t kParallelReadMinBytes = uint64_t{8} << 20;
// What one read returns at most, as Linux caps one read (MAX_RW_COUNT): the
// count must fit the guest's 32-bit result.
inline constexpr uint64_t kMaxReadBytes = 0x7ffff000;

// Whether read_in_pieces would split a read into iov at offset of the file fd.
bool reads_in_pieces(int fd, const std::vector<struct iovec>& iov, uint64_t offset);

// preadv(fd, iov, offset) with iov[0] read by several threads (at most 8
// for the whole process at once) in pieces of at least 4 MiB, the other
// buffers after it as one preadv. The result is preadv's: the bytes read
// from offset on, contiguous (a piece past the end of the file ends the
// count where it ends), at most max_bytes, or -1 with errno when nothing
// was read.
ssize_t read_in_pieces(int fd, const std::vector<struct iovec>& iov, uint64_t offset,
                       uint64_t max_bytes = kMaxReadBytes);

}  // namespace samepage::wasi
