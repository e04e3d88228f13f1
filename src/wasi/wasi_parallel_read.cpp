// Reading a regular file in pieces on several threads (wasi_parallel_read.h).
#include "wasi/wasi_parallel_read.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>
#include <thread>

namespace samepage::wasi {
namespace {

constexpr uint64_t kPieceMinBytes = uint64_t{4} << 20;
constexpr unsigned kMaxPieces = 8;
// Helper threads every guest's reads may have at once: a process of many
// guests reading together does not start threads without bound.
constexpr int kMaxHelpers = 16;
std::atomic<int> g_helpers{0};

struct Piece {
  uint8_t* dst;
  uint64_t n_bytes, offset;
  uint64_t got_bytes = 0;  // read, from the piece's start on
  int error = 0;           // errno of a failed pread
};

// The piece whole, or up to the end of the file or an error.
void read_piece(int fd, Piece& p) {
  while (p.got_bytes < p.n_bytes) {
    const ssize_t n = ::pread(fd, p.dst + p.got_bytes, p.n_bytes - p.got_bytes,
                              static_cast<off_t>(p.offset + p.got_bytes));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) p.error = errno;
    if (n <= 0) return;
    p.got_bytes += uint64_t(n);
  }
}

unsigned pieces_for(uint64_t n_bytes) {
  static const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return unsigned(std::min<uint64_t>({kMaxPieces, cores, n_bytes / kPieceMinBytes}));
}

// Up to `wanted` helper threads from the process's budget; gives back what it took.
class Helpers {
 public:
  explicit Helpers(int wanted) {
    int now = g_helpers.load();
    do {
      taken_ = std::max(0, std::min(wanted, kMaxHelpers - now));
    } while (taken_ > 0 && !g_helpers.compare_exchange_weak(now, now + taken_));
  }
  ~Helpers() { g_helpers -= taken_; }
  int taken() const { return taken_; }

 private:
  int taken_ = 0;
};

}  // namespace

bool reads_in_pieces(int fd, const std::vector<struct iovec>& iov, uint64_t offset) {
  if (iov.empty() || iov[0].iov_len < kParallelReadMinBytes || pieces_for(iov[0].iov_len) < 2) return false;
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && uint64_t(st.st_size) > offset &&
         uint64_t(st.st_size) - offset >= kParallelReadMinBytes;
}

ssize_t read_in_pieces(int fd, const std::vector<struct iovec>& iov, uint64_t offset, uint64_t max_bytes) {
  const uint64_t first_bytes = std::min<uint64_t>(iov[0].iov_len, max_bytes);
  std::vector<Piece> pieces;
  std::vector<std::thread> threads;
  unsigned n_pieces = std::max(1u, pieces_for(first_bytes));
  try {
    pieces.reserve(n_pieces);
    threads.reserve(n_pieces);
  } catch (...) {
    n_pieces = 1;
  }
  if (pieces.capacity() < n_pieces) n_pieces = 1;
  for (unsigned i = 0; i < n_pieces; ++i) {
    const uint64_t begin = first_bytes * i / n_pieces, end = first_bytes * (i + 1) / n_pieces;
    pieces.push_back({static_cast<uint8_t*>(iov[0].iov_base) + begin, end - begin, offset + begin});
  }
  {
    const Helpers helpers(int(n_pieces) - 1);
    // Pieces 1..taken on helpers (capacity reserved: emplace_back does not
    // reallocate); a helper that cannot start leaves its piece to this thread.
    for (int i = 1; i <= helpers.taken(); ++i) {
      try {
        threads.emplace_back(read_piece, fd, std::ref(pieces[size_t(i)]));
      } catch (...) {
        break;
      }
    }
    for (size_t i = threads.size() + 1; i < pieces.size(); ++i) read_piece(fd, pieces[i]);
    read_piece(fd, pieces[0]);
    for (std::thread& t : threads) t.join();
  }
  // The count is the contiguous run from the start: it ends at the first
  // piece that came back short (the end of the file, or an error).
  uint64_t total = 0;
  for (const Piece& p : pieces) {
    total += p.got_bytes;
    if (p.got_bytes < p.n_bytes) {
      if (total == 0 && p.error != 0) {
        errno = p.error;
        return -1;
      }
      return ssize_t(total);
    }
  }
  // The other buffers, within what one read may return.
  std::vector<struct iovec> rest;
  uint64_t budget = max_bytes - total;
  for (size_t i = 1; i < iov.size() && budget > 0; ++i) {
    const uint64_t n = std::min<uint64_t>(iov[i].iov_len, budget);
    rest.push_back({iov[i].iov_base, n});
    budget -= n;
  }
  if (rest.empty()) return ssize_t(total);
  ssize_t got;
  do {
    got = ::preadv(fd, rest.data(), int(rest.size()), static_cast<off_t>(offset + total));
  } while (got < 0 && errno == EINTR);
  return got < 0 ? ssize_t(total) : ssize_t(total + uint64_t(got));
}

}  // namespace samepage::wasi
