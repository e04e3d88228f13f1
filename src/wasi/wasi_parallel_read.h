// A large read of a regular file split among threads: each reads its own
// piece of the file with pread into its own piece of the guest's buffer.
// One thread copying from the page cache moves a few GB/s; a session or
// model file of tens of MB read that way is most of a restore (an LLM
// session of 512 tokens on the H200 machine: 4.6 of its 6.2 ms). Used by
// fd_read and fd_pread (wasi_fd_io.cpp) for regular files only.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <vector>

namespace samepage::wasi {

// Reads of at least this many bytes in their first buffer go in pieces.
inline constexpr uint64_t kParallelReadMinBytes = uint64_t{8} << 20;

// Whether read_in_pieces would split a read into iov.
bool reads_in_pieces(const std::vector<struct iovec>& iov);

// preadv(fd, iov, offset) with iov[0] read by several threads in pieces of
// at least 4 MiB, the other buffers after it as one preadv. The result is
// preadv's: the bytes read from offset on, contiguous (a piece past the end
// of the file ends the count where it ends), or -1 with errno when nothing
// was read.
ssize_t read_in_pieces(int fd, const std::vector<struct iovec>& iov, uint64_t offset);

}  // namespace samepage::wasi
