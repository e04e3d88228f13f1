// Reading, writing and positioning: fd_read, fd_write, fd_pread, fd_pwrite,
// fd_seek, fd_tell.
#include <pthread.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <limits>
#include <vector>

#include "wasi/wasi_call.h"
#include "wasi/wasi_errno.h"
#include "wasi/wasi_functions.h"
#include "wasi/wasi_parallel_read.h"

namespace samepage::wasi {
namespace {

constexpr uint64_t kMaxFileOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());

// A write to a pipe or socket whose reader is gone raises SIGPIPE, whose
// default action would kill the host. Block it around the write and consume
// the one this write raised, so the guest just sees EPIPE.
ssize_t write_without_sigpipe(int fd, const std::vector<struct iovec>& iov, bool positioned,
                              uint64_t offset) {
  sigset_t pipe_set, old_set, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t n;
  do {
    n = positioned ? ::pwritev(fd, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(offset))
                   : ::writev(fd, iov.data(), static_cast<int>(iov.size()));
  } while (n < 0 && errno == EINTR);
  const int saved = errno;
  if (n < 0 && saved == EPIPE && !already_pending) {
    const struct timespec zero {};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved;
  return n;
}

ssize_t read_retrying(int fd, const std::vector<struct iovec>& iov, bool positioned,
                      uint64_t offset) {
  ssize_t n;
  do {
    n = positioned ? ::preadv(fd, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(offset))
                   : ::readv(fd, iov.data(), static_cast<int>(iov.size()));
  } while (n < 0 && errno == EINTR);
  return n;
}

// A large read of a regular file the guest opened itself, on several
// threads (wasi_parallel_read.h). Only fds from 3 on: each has its own open
// file description, so nothing else moves its offset between the lseek and
// the pieces (fds 0-2 share the host's). False where it does not apply.
bool read_file_in_pieces(uint32_t guest_fd, const FdEntry& entry, const std::vector<struct iovec>& iov,
                         bool positioned, uint64_t offset, ssize_t* n) {
  if (guest_fd < 3 || entry.filetype != kFiletypeRegularFile) return false;
  const int fd = entry.host.get();
  if (!positioned) {
    const off_t at = ::lseek(fd, 0, SEEK_CUR);
    if (at < 0) return false;
    offset = uint64_t(at);
  }
  if (!reads_in_pieces(fd, iov, offset)) return false;
  *n = read_in_pieces(fd, iov, offset);
  if (!positioned && *n > 0 && ::lseek(fd, static_cast<off_t>(offset + uint64_t(*n)), SEEK_SET) < 0) *n = -1;
  return true;
}

Errno do_read(Call& call, uint32_t fd, uint32_t iovs, uint32_t iovs_len, bool positioned,
              uint64_t offset, uint32_t nread_ptr) {
  FdEntry* entry = call.wasi.fd_get(fd);
  if (entry != nullptr && entry->is_directory()) return kErrnoIsdir;
  const uint64_t rights = positioned ? kRightFdRead | kRightFdSeek : kRightFdRead;
  if (Errno e = fd_lookup(call, fd, rights, &entry)) return e;
  if (positioned && offset > kMaxFileOffset) return kErrnoInval;
  if (call.memory.writable_range(nread_ptr, 4) == nullptr) return kErrnoFault;
  std::vector<struct iovec> iov;
  if (Errno e = gather_iovecs(call.memory, iovs, iovs_len, &iov)) return e;
  ssize_t n;
  if (!read_file_in_pieces(fd, *entry, iov, positioned, offset, &n))
    n = read_retrying(entry->host.get(), iov, positioned, offset);
  if (n < 0) return last_errno();
  call.memory.store<uint32_t>(nread_ptr, static_cast<uint32_t>(n));
  return kErrnoSuccess;
}

Errno do_write(Call& call, uint32_t fd, uint32_t iovs, uint32_t iovs_len, bool positioned,
               uint64_t offset, uint32_t nwritten_ptr) {
  FdEntry* entry = call.wasi.fd_get(fd);
  if (entry != nullptr && entry->is_directory()) return kErrnoIsdir;
  const uint64_t rights = positioned ? kRightFdWrite | kRightFdSeek : kRightFdWrite;
  if (Errno e = fd_lookup(call, fd, rights, &entry)) return e;
  if (positioned && offset > kMaxFileOffset) return kErrnoInval;
  // Check the result pointer first: a write that happened must be reported.
  if (call.memory.writable_range(nwritten_ptr, 4) == nullptr) return kErrnoFault;
  std::vector<struct iovec> iov;
  if (Errno e = gather_iovecs(call.memory, iovs, iovs_len, &iov)) return e;
  ssize_t n;
  if (entry->filetype == kFiletypeRegularFile || entry->filetype == kFiletypeBlockDevice) {
    do {
      n = positioned ? ::pwritev(entry->host.get(), iov.data(), static_cast<int>(iov.size()),
                                 static_cast<off_t>(offset))
                     : ::writev(entry->host.get(), iov.data(), static_cast<int>(iov.size()));
    } while (n < 0 && errno == EINTR);
  } else {
    n = write_without_sigpipe(entry->host.get(), iov, positioned, offset);
  }
  if (n < 0) return last_errno();
  call.memory.store<uint32_t>(nwritten_ptr, static_cast<uint32_t>(n));
  return kErrnoSuccess;
}

}  // namespace
}  // namespace samepage::wasi

using samepage::GuestContext;
using namespace samepage::wasi;

uint32_t Z_wasi_snapshot_preview1Z_fd_read(GuestContext* ctx, uint32_t fd, uint32_t iovs,
                                           uint32_t iovs_len, uint32_t nread_ptr) {
  return guarded(ctx, [&](Call& call) {
    return do_read(call, fd, iovs, iovs_len, false, 0, nread_ptr);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_pread(GuestContext* ctx, uint32_t fd, uint32_t iovs,
                                            uint32_t iovs_len, uint64_t offset,
                                            uint32_t nread_ptr) {
  return guarded(ctx, [&](Call& call) {
    return do_read(call, fd, iovs, iovs_len, true, offset, nread_ptr);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_write(GuestContext* ctx, uint32_t fd, uint32_t iovs,
                                            uint32_t iovs_len, uint32_t nwritten_ptr) {
  return guarded(ctx, [&](Call& call) {
    return do_write(call, fd, iovs, iovs_len, false, 0, nwritten_ptr);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_pwrite(GuestContext* ctx, uint32_t fd, uint32_t iovs,
                                             uint32_t iovs_len, uint64_t offset,
                                             uint32_t nwritten_ptr) {
  return guarded(ctx, [&](Call& call) {
    return do_write(call, fd, iovs, iovs_len, true, offset, nwritten_ptr);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_seek(GuestContext* ctx, uint32_t fd, uint64_t offset,
                                           uint32_t whence, uint32_t newoffset_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = call.wasi.fd_get(fd);
    if (entry == nullptr) return kErrnoBadf;
    // fd_tell's right suffices for the query lseek(fd, 0, SEEK_CUR).
    const bool query = offset == 0 && whence == kWhenceCur;
    if (!entry->has_rights(kRightFdSeek) && !(query && entry->has_rights(kRightFdTell))) {
      // Terminals and pipes hold no seek right; POSIX code expects ESPIPE.
      const bool stream = entry->filetype == kFiletypeCharacterDevice ||
                          entry->filetype == kFiletypeUnknown ||
                          entry->filetype == kFiletypeSocketStream;
      return stream ? kErrnoSpipe : kErrnoBadf;
    }
    int host_whence;
    switch (whence) {
      case kWhenceSet: host_whence = SEEK_SET; break;
      case kWhenceCur: host_whence = SEEK_CUR; break;
      case kWhenceEnd: host_whence = SEEK_END; break;
      default: return kErrnoInval;
    }
    if (call.memory.writable_range(newoffset_ptr, 8) == nullptr) return kErrnoFault;
    const off_t result = ::lseek(entry->host.get(), static_cast<off_t>(offset), host_whence);
    if (result < 0) return last_errno();
    call.memory.store<uint64_t>(newoffset_ptr, static_cast<uint64_t>(result));
    return kErrnoSuccess;
  });
}

// lseek(fd, 0, SEEK_CUR): the same rights and errors (ESPIPE on streams).
uint32_t Z_wasi_snapshot_preview1Z_fd_tell(GuestContext* ctx, uint32_t fd, uint32_t offset_ptr) {
  return Z_wasi_snapshot_preview1Z_fd_seek(ctx, fd, 0, kWhenceCur, offset_ptr);
}
