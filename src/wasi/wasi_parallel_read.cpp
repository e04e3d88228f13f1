// Reading a regular file in pieces on several threads (wasi_parallel_read.h).
#include "wasi/wasi_parallel_read.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <system_error>
#include <thread>

namespace samepage::wasi {
namespace {

constexpr uint64_t kPieceMinBytes = uint64_t{4} << 20;
constexpr unsigned kMaxThreads = 8;

struct Piece {
  uint8_t* dst;
  uint64_t len, offset;
  uint64_t got = 0;  // bytes read, from the piece's start on
  int error = 0;     // errno of a failed pread
};

// The piece whole, or up to the end of the file or an error.
void read_piece(int fd, Piece& p) {
  while (p.got < p.len) {
    const ssize_t n = ::pread(fd, p.dst + p.got, p.len - p.got, static_cast<off_t>(p.offset + p.got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) p.error = errno;
    if (n <= 0) return;
    p.got += uint64_t(n);
  }
}

unsigned pieces_for(uint64_t bytes) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return unsigned(std::min<uint64_t>({kMaxThreads, cores, bytes / kPieceMinBytes}));
}

}  // namespace

bool reads_in_pieces(const std::vector<struct iovec>& iov) {
  return !iov.empty() && iov[0].iov_len >= kParallelReadMinBytes && pieces_for(iov[0].iov_len) > 1;
}

ssize_t read_in_pieces(int fd, const std::vector<struct iovec>& iov, uint64_t offset) {
  const uint64_t first = iov[0].iov_len;
  const unsigned n = pieces_for(first);
  std::vector<Piece> pieces;
  for (unsigned i = 0; i < n; ++i) {
    const uint64_t begin = first * i / n, end = first * (i + 1) / n;
    pieces.push_back({static_cast<uint8_t*>(iov[0].iov_base) + begin, end - begin, offset + begin});
  }
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i) {
    try {
      threads.emplace_back(read_piece, fd, std::ref(pieces[i]));
    } catch (const std::system_error&) {  // no thread to be had: this one reads the piece
      read_piece(fd, pieces[i]);
    }
  }
  read_piece(fd, pieces[0]);
  for (std::thread& t : threads) t.join();
  // The count is the contiguous run from the start: it ends at the first
  // piece that came back short (the end of the file, or an error).
  uint64_t total = 0;
  for (const Piece& p : pieces) {
    total += p.got;
    if (p.got < p.len) {
      if (total == 0 && p.error != 0) {
        errno = p.error;
        return -1;
      }
      return ssize_t(total);
    }
  }
  if (iov.size() == 1) return ssize_t(total);
  ssize_t rest;
  do {
    rest = ::preadv(fd, iov.data() + 1, int(iov.size() - 1), static_cast<off_t>(offset + total));
  } while (rest < 0 && errno == EINTR);
  return rest < 0 ? ssize_t(total) : ssize_t(total + uint64_t(rest));
}

}  // namespace samepage::wasi
