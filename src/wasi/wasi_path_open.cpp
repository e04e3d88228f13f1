// path_open: the one way a guest gets a new descriptor. Resolution is
// confined by openat2(RESOLVE_BENEATH) (see wasi_path.h); what may be opened
// for writing is decided here from the directory's rights and writability.
#include <fcntl.h>
#include <sys/stat.h>

#include "wasi/wasi_call.h"
#include "wasi/wasi_errno.h"
#include "wasi/wasi_functions.h"
#include "wasi/wasi_path.h"
#include "wasi/wasi_stat.h"

namespace samepage::wasi {
namespace {

constexpr uint32_t kKnownOflags = kOflagCreat | kOflagDirectory | kOflagExcl | kOflagTrunc;
constexpr uint32_t kKnownFdflags =
    kFdflagAppend | kFdflagDsync | kFdflagNonblock | kFdflagRsync | kFdflagSync;

int host_open_flags(uint32_t lookup_flags, uint32_t oflags, uint64_t rights_base,
                    uint32_t fdflags) {
  const bool read = (rights_base & (kRightFdRead | kRightFdReaddir)) != 0;
  const bool write = (rights_base & kRightsWriteIntent) != 0;
  int flags = write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY;
  flags |= O_NOCTTY | O_CLOEXEC;  // never inherited by tools the engine spawns
  if (oflags & kOflagCreat) flags |= O_CREAT;
  if (oflags & kOflagDirectory) flags |= O_DIRECTORY;
  if (oflags & kOflagExcl) flags |= O_EXCL;
  if (oflags & kOflagTrunc) flags |= O_TRUNC;
  if (!(lookup_flags & kLookupSymlinkFollow)) flags |= O_NOFOLLOW;
  if (fdflags & kFdflagAppend) flags |= O_APPEND;
  if (fdflags & kFdflagDsync) flags |= O_DSYNC;
  if (fdflags & kFdflagNonblock) flags |= O_NONBLOCK;
  if (fdflags & kFdflagRsync) flags |= O_RSYNC;
  if (fdflags & kFdflagSync) flags |= O_SYNC;
  return flags;
}

Errno path_open(Call& call, uint32_t dir_fd, uint32_t lookup_flags, uint32_t path_ptr,
                uint32_t path_len, uint32_t oflags, uint64_t rights_base,
                uint64_t rights_inheriting, uint32_t fdflags, uint32_t fd_ptr) {
  FdEntry* dir = nullptr;
  if (Errno e = dir_lookup(call, dir_fd, kRightPathOpen, &dir)) return e;
  if ((oflags & ~kKnownOflags) != 0 || (fdflags & ~kKnownFdflags) != 0) return kErrnoInval;
  if (call.memory.writable_range(fd_ptr, 4) == nullptr) return kErrnoFault;
  std::string path;
  if (Errno e = read_guest_path(call.memory, path_ptr, path_len, &path)) return e;

  // A new descriptor holds at most what its directory passes on.
  if ((rights_base & ~dir->rights_inheriting) != 0 ||
      (rights_inheriting & ~dir->rights_inheriting) != 0) {
    return kErrnoNotcapable;
  }
  const bool write = (rights_base & kRightsWriteIntent) != 0;
  // Under a read-only preopen nothing is opened for writing, created or truncated.
  if (!dir->writable && (write || (oflags & (kOflagCreat | kOflagTrunc)))) return kErrnoNotcapable;
  if ((oflags & kOflagCreat) && !dir->has_rights(kRightPathCreateFile)) return kErrnoNotcapable;
  if ((oflags & kOflagTrunc) && !dir->has_rights(kRightPathFilestatSetSize)) {
    return kErrnoNotcapable;
  }

  UniqueFd fd;
  const int flags = host_open_flags(lookup_flags, oflags, rights_base, fdflags);
  if (Errno e = open_beneath(dir->host.get(), path, flags, 0666, &fd)) return e;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return last_errno();

  FdEntry entry;
  entry.filetype = filetype_from_mode(st.st_mode);
  entry.writable = dir->writable && (entry.filetype == kFiletypeDirectory || write);
  const uint64_t kind_rights =
      entry.filetype == kFiletypeDirectory ? kRightsDirectory : kRightsFile;
  const uint64_t allowed = dir->writable ? kRightsAll : kRightsAll & ~kRightsMutating;
  entry.rights_base = rights_base & kind_rights & allowed;
  entry.rights_inheriting = rights_inheriting;
  entry.preopen_dev = dir->preopen_dev;
  entry.preopen_ino = dir->preopen_ino;
  entry.origin_preopen = dir->is_preopen ? dir->preopen_name : dir->origin_preopen;
  entry.origin_path = dir->is_preopen || dir->origin_path.empty() ? path : dir->origin_path + "/" + path;
  // A guest that opens "./././..." beneath the last directory it opened,
  // over and over, would grow this without end: past the longest path a
  // snapshot records, the origin is forgotten (a mapping of the file is then
  // refused in a snapshot, saying it was not opened beneath a preopen).
  constexpr size_t kMaxOriginPath = 4096;
  if (entry.origin_path.size() > kMaxOriginPath) {
    entry.origin_preopen.clear();
    entry.origin_path.clear();
  }
  entry.host = std::move(fd);

  uint32_t guest_fd = 0;
  if (Errno e = call.wasi.fd_insert(std::move(entry), &guest_fd)) return e;
  call.memory.store<uint32_t>(fd_ptr, guest_fd);
  return kErrnoSuccess;
}

}  // namespace
}  // namespace samepage::wasi

using samepage::GuestContext;
using namespace samepage::wasi;

uint32_t Z_wasi_snapshot_preview1Z_path_open(GuestContext* ctx, uint32_t dir_fd,
                                             uint32_t lookup_flags, uint32_t path,
                                             uint32_t path_len, uint32_t oflags,
                                             uint64_t rights_base, uint64_t rights_inheriting,
                                             uint32_t fdflags, uint32_t fd_ptr) {
  return guarded(ctx, [&](Call& call) {
    return samepage::wasi::path_open(call, dir_fd, lookup_flags, path, path_len, oflags,
                                     rights_base, rights_inheriting, fdflags, fd_ptr);
  });
}
