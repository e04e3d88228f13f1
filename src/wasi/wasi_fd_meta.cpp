// Descriptor state and metadata: close, renumber, sync, advise, allocate,
// fdstat, filestat, prestat.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "wasi/wasi_call.h"
#include "wasi/wasi_errno.h"
#include "wasi/wasi_functions.h"
#include "wasi/wasi_stat.h"

namespace samepage::wasi {
namespace {

constexpr uint64_t kMaxFileOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
constexpr uint16_t kSyncFlags = kFdflagDsync | kFdflagRsync | kFdflagSync;

uint16_t fdflags_from_host(int fl) {
  uint16_t flags = 0;
  if (fl & O_APPEND) flags |= kFdflagAppend;
  if (fl & O_NONBLOCK) flags |= kFdflagNonblock;
  if ((fl & O_SYNC) == O_SYNC) {
    flags |= kFdflagSync | kFdflagRsync;  // Linux: O_RSYNC == O_SYNC
  }
  if (fl & O_DSYNC) flags |= kFdflagDsync;
  return flags;
}

// On Linux O_SYNC implies O_DSYNC and O_RSYNC == O_SYNC: compare sync modes
// in that closed form.
uint16_t canonical_sync(uint16_t flags) {
  if (flags & (kFdflagSync | kFdflagRsync)) return kSyncFlags;
  return flags & kFdflagDsync;
}

Errno sync_entry(Call& call, uint32_t fd, uint64_t right, bool data_only) {
  FdEntry* entry = nullptr;
  if (Errno e = fd_lookup(call, fd, right, &entry)) return e;
  UniqueFd scratch;
  int host = -1;
  if (Errno e = usable_fd(*entry, O_RDONLY | O_DIRECTORY, &scratch, &host)) return e;
  const int rc = data_only ? ::fdatasync(host) : ::fsync(host);
  return rc == 0 ? kErrnoSuccess : last_errno();
}

}  // namespace
}  // namespace samepage::wasi

using samepage::GuestContext;
using namespace samepage::wasi;

uint32_t Z_wasi_snapshot_preview1Z_fd_close(GuestContext* ctx, uint32_t fd) {
  return guarded(ctx, [&](Call& call) { return call.wasi.fd_close(fd); });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_renumber(GuestContext* ctx, uint32_t fd, uint32_t to) {
  return guarded(ctx, [&](Call& call) { return call.wasi.fd_renumber(fd, to); });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_datasync(GuestContext* ctx, uint32_t fd) {
  return guarded(ctx, [&](Call& call) { return sync_entry(call, fd, kRightFdDatasync, true); });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_sync(GuestContext* ctx, uint32_t fd) {
  return guarded(ctx, [&](Call& call) { return sync_entry(call, fd, kRightFdSync, false); });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_advise(GuestContext* ctx, uint32_t fd, uint64_t offset,
                                             uint64_t len, uint32_t advice) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = nullptr;
    if (Errno e = fd_lookup(call, fd, kRightFdAdvise, &entry)) return e;
    if (offset > kMaxFileOffset || len > kMaxFileOffset) return kErrnoInval;
    int host_advice;
    switch (advice) {
      case kAdviceNormal: host_advice = POSIX_FADV_NORMAL; break;
      case kAdviceSequential: host_advice = POSIX_FADV_SEQUENTIAL; break;
      case kAdviceRandom: host_advice = POSIX_FADV_RANDOM; break;
      case kAdviceWillneed: host_advice = POSIX_FADV_WILLNEED; break;
      case kAdviceDontneed: host_advice = POSIX_FADV_DONTNEED; break;
      case kAdviceNoreuse: host_advice = POSIX_FADV_NOREUSE; break;
      default: return kErrnoInval;
    }
    if (entry->is_directory()) return kErrnoSuccess;  // advice is only a hint
    const int rc = ::posix_fadvise(entry->host.get(), static_cast<off_t>(offset),
                                   static_cast<off_t>(len), host_advice);
    return errno_from_host(rc);  // posix_fadvise returns the error number
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_allocate(GuestContext* ctx, uint32_t fd, uint64_t offset,
                                               uint64_t len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = nullptr;
    if (Errno e = fd_lookup(call, fd, kRightFdAllocate, &entry)) return e;
    if (offset > kMaxFileOffset || len > kMaxFileOffset - offset) return kErrnoInval;
    const int rc = ::posix_fallocate(entry->host.get(), static_cast<off_t>(offset),
                                     static_cast<off_t>(len));
    return errno_from_host(rc);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(GuestContext* ctx, uint32_t fd,
                                                 uint32_t fdstat_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = call.wasi.fd_get(fd);
    if (entry == nullptr) return kErrnoBadf;
    uint8_t* out = call.memory.writable_range(fdstat_ptr, layout::kFdstatSize);
    if (out == nullptr) return kErrnoFault;
    uint16_t flags = 0;
    if (!entry->path_only) {
      const int fl = ::fcntl(entry->host.get(), F_GETFL);
      if (fl < 0) return last_errno();
      flags = fdflags_from_host(fl);
    }
    std::memset(out, 0, layout::kFdstatSize);
    out[0] = entry->filetype;
    std::memcpy(out + 2, &flags, 2);
    std::memcpy(out + 8, &entry->rights_base, 8);
    std::memcpy(out + 16, &entry->rights_inheriting, 8);
    return kErrnoSuccess;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(GuestContext* ctx, uint32_t fd,
                                                       uint32_t fdflags) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = nullptr;
    if (Errno e = fd_lookup(call, fd, kRightFdFdstatSetFlags, &entry)) return e;
    if (fdflags > 0xffff) return kErrnoInval;
    const uint16_t wanted = static_cast<uint16_t>(fdflags);
    if (entry->path_only) return wanted == 0 ? kErrnoSuccess : kErrnoNotsup;
    const int fl = ::fcntl(entry->host.get(), F_GETFL);
    if (fl < 0) return last_errno();
    // Linux changes only O_APPEND and O_NONBLOCK after open; asking for a
    // different sync mode must not pretend to work.
    if (canonical_sync(wanted) != canonical_sync(fdflags_from_host(fl))) return kErrnoNotsup;
    int new_fl = fl & ~(O_APPEND | O_NONBLOCK);
    if (wanted & kFdflagAppend) new_fl |= O_APPEND;
    if (wanted & kFdflagNonblock) new_fl |= O_NONBLOCK;
    return ::fcntl(entry->host.get(), F_SETFL, new_fl) == 0 ? kErrnoSuccess : last_errno();
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(GuestContext* ctx, uint32_t fd,
                                                        uint64_t rights_base,
                                                        uint64_t rights_inheriting) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = call.wasi.fd_get(fd);
    if (entry == nullptr) return kErrnoBadf;
    // Rights only ever shrink.
    if ((rights_base & ~entry->rights_base) != 0 ||
        (rights_inheriting & ~entry->rights_inheriting) != 0) {
      return kErrnoNotcapable;
    }
    entry->rights_base = rights_base;
    entry->rights_inheriting = rights_inheriting;
    return kErrnoSuccess;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_get(GuestContext* ctx, uint32_t fd,
                                                   uint32_t filestat_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = nullptr;
    if (Errno e = fd_lookup(call, fd, kRightFdFilestatGet, &entry)) return e;
    if (call.memory.writable_range(filestat_ptr, layout::kFilestatSize) == nullptr) return kErrnoFault;
    struct stat st {};
    if (::fstat(entry->host.get(), &st) != 0) return last_errno();
    return store_filestat(call.memory, filestat_ptr, st);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_size(GuestContext* ctx, uint32_t fd,
                                                        uint64_t size) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = nullptr;
    if (Errno e = fd_lookup(call, fd, kRightFdFilestatSetSize, &entry)) return e;
    if (size > kMaxFileOffset) return kErrnoInval;
    return ::ftruncate(entry->host.get(), static_cast<off_t>(size)) == 0 ? kErrnoSuccess
                                                                          : last_errno();
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_times(GuestContext* ctx, uint32_t fd,
                                                         uint64_t atim, uint64_t mtim,
                                                         uint32_t fst_flags) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = nullptr;
    if (Errno e = fd_lookup(call, fd, kRightFdFilestatSetTimes, &entry)) return e;
    if (fst_flags > 0xffff) return kErrnoInval;
    struct timespec times[2];
    if (Errno e = times_from_fstflags(atim, mtim, static_cast<uint16_t>(fst_flags), times)) return e;
    // AT_EMPTY_PATH also covers O_PATH fds (preopens), which futimens refuses.
    const int rc = ::utimensat(entry->host.get(), "", times, AT_EMPTY_PATH);
    return rc == 0 ? kErrnoSuccess : last_errno();
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_get(GuestContext* ctx, uint32_t fd,
                                                  uint32_t prestat_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    // wasi-libc scans fds from 3 until EBADF to find the preopens, so any fd
    // that is not a preopen must answer exactly EBADF.
    FdEntry* entry = call.wasi.fd_get(fd);
    if (entry == nullptr || !entry->is_preopen) return kErrnoBadf;
    uint8_t* out = call.memory.writable_range(prestat_ptr, layout::kPrestatSize);
    if (out == nullptr) return kErrnoFault;
    const uint32_t name_len = static_cast<uint32_t>(entry->preopen_name.size());
    std::memset(out, 0, layout::kPrestatSize);
    out[0] = kPreopentypeDir;
    std::memcpy(out + 4, &name_len, 4);
    return kErrnoSuccess;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(GuestContext* ctx, uint32_t fd,
                                                       uint32_t path, uint32_t path_len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = call.wasi.fd_get(fd);
    if (entry == nullptr || !entry->is_preopen) return kErrnoBadf;
    const std::string& name = entry->preopen_name;
    if (path_len < name.size()) return kErrnoNametoolong;
    uint8_t* out = call.memory.writable_range(path, name.size());
    if (out == nullptr) return kErrnoFault;
    std::memcpy(out, name.data(), name.size());
    return kErrnoSuccess;
  });
}
