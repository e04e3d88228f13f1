// Path operations other than open: mkdir, rmdir, unlink, rename, link,
// symlink, readlink, stat and set-times. Each resolves its directory part
// confined beneath the guest's directory fd (wasi_path.h), then acts on the
// last component with an *at() call that does not follow it, or on an O_PATH
// fd that the confined resolution produced.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "wasi/wasi_call.h"
#include "wasi/wasi_errno.h"
#include "wasi/wasi_functions.h"
#include "wasi/wasi_path.h"
#include "wasi/wasi_stat.h"
#include "wasi/wasi_symlink_target.h"

namespace samepage::wasi {
namespace {

// Directory fd check, path copy and parent resolution, the prologue of every
// "act on the last component" operation.
Errno resolve_parent(Call& call, uint32_t fd, uint64_t right, uint32_t path_ptr, uint32_t path_len,
                     ParentDir* out) {
  FdEntry* dir = nullptr;
  if (Errno e = dir_lookup(call, fd, right, &dir)) return e;
  std::string path;
  if (Errno e = read_guest_path(call.memory, path_ptr, path_len, &path)) return e;
  return open_parent(dir->host.get(), path, out);
}

// The object a path names, opened O_PATH beneath the directory; symlinks in
// the last component are followed (confined) only with SYMLINK_FOLLOW.
Errno resolve_object(Call& call, uint32_t fd, uint64_t right, uint32_t lookup_flags,
                     uint32_t path_ptr, uint32_t path_len, UniqueFd* out) {
  FdEntry* dir = nullptr;
  if (Errno e = dir_lookup(call, fd, right, &dir)) return e;
  std::string path;
  if (Errno e = read_guest_path(call.memory, path_ptr, path_len, &path)) return e;
  const int flags = O_PATH | ((lookup_flags & kLookupSymlinkFollow) ? 0 : O_NOFOLLOW);
  return open_beneath(dir->host.get(), path, flags, 0, out);
}

Errno result_of(int rc) { return rc == 0 ? kErrnoSuccess : last_errno(); }

// linkat of an already-resolved object. AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH
// before Linux 6.10; /proc/self/fd/N names the same object without it.
Errno link_resolved(int object_fd, int new_dir, const std::string& new_name) {
  if (::linkat(object_fd, "", new_dir, new_name.c_str(), AT_EMPTY_PATH) == 0) return kErrnoSuccess;
  if (errno != ENOENT && errno != EPERM) return last_errno();
  char proc_path[64];
  std::snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", object_fd);
  return result_of(::linkat(AT_FDCWD, proc_path, new_dir, new_name.c_str(), AT_SYMLINK_FOLLOW));
}

}  // namespace
}  // namespace samepage::wasi

using samepage::GuestContext;
using samepage::UniqueFd;
using namespace samepage::wasi;

uint32_t Z_wasi_snapshot_preview1Z_path_create_directory(GuestContext* ctx, uint32_t fd,
                                                         uint32_t path, uint32_t path_len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    ParentDir parent;
    if (Errno e = resolve_parent(call, fd, kRightPathCreateDirectory, path, path_len, &parent)) {
      return e;
    }
    return result_of(::mkdirat(parent.dir.get(), parent.name.c_str(), 0777));
  });
}

uint32_t Z_wasi_snapshot_preview1Z_path_remove_directory(GuestContext* ctx, uint32_t fd,
                                                         uint32_t path, uint32_t path_len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    ParentDir parent;
    if (Errno e = resolve_parent(call, fd, kRightPathRemoveDirectory, path, path_len, &parent)) {
      return e;
    }
    return result_of(::unlinkat(parent.dir.get(), parent.name.c_str(), AT_REMOVEDIR));
  });
}

uint32_t Z_wasi_snapshot_preview1Z_path_unlink_file(GuestContext* ctx, uint32_t fd, uint32_t path,
                                                    uint32_t path_len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    ParentDir parent;
    if (Errno e = resolve_parent(call, fd, kRightPathUnlinkFile, path, path_len, &parent)) {
      return e;
    }
    return result_of(::unlinkat(parent.dir.get(), parent.name.c_str(), 0));
  });
}

uint32_t Z_wasi_snapshot_preview1Z_path_rename(GuestContext* ctx, uint32_t fd, uint32_t old_path,
                                               uint32_t old_path_len, uint32_t new_fd,
                                               uint32_t new_path, uint32_t new_path_len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    ParentDir from, to;
    if (Errno e = resolve_parent(call, fd, kRightPathRenameSource, old_path, old_path_len, &from)) {
      return e;
    }
    if (Errno e = resolve_parent(call, new_fd, kRightPathRenameTarget, new_path, new_path_len, &to)) {
      return e;
    }
    if (Errno e = check_symlink_move(from.dir.get(), from.name, to.dir.get(),
                                     *call.wasi.fd_get(new_fd))) {
      return e;
    }
    return result_of(
        ::renameat(from.dir.get(), from.name.c_str(), to.dir.get(), to.name.c_str()));
  });
}

// Following a link is confined by RESOLVE_BENEATH, but a host tool that
// later follows links in the preopen is not: targets that would lead it out
// (absolute, or climbing above the preopen) are refused
// (wasi_symlink_target.h).
uint32_t Z_wasi_snapshot_preview1Z_path_symlink(GuestContext* ctx, uint32_t old_path,
                                                uint32_t old_path_len, uint32_t fd,
                                                uint32_t new_path, uint32_t new_path_len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    std::string target;
    if (Errno e = read_guest_path(call.memory, old_path, old_path_len, &target)) return e;
    ParentDir parent;
    if (Errno e = resolve_parent(call, fd, kRightPathSymlink, new_path, new_path_len, &parent)) {
      return e;
    }
    if (Errno e = check_symlink_target(target, parent.dir.get(), *call.wasi.fd_get(fd))) return e;
    return result_of(::symlinkat(target.c_str(), parent.dir.get(), parent.name.c_str()));
  });
}

uint32_t Z_wasi_snapshot_preview1Z_path_link(GuestContext* ctx, uint32_t old_fd,
                                             uint32_t old_lookup_flags, uint32_t old_path,
                                             uint32_t old_path_len, uint32_t new_fd,
                                             uint32_t new_path, uint32_t new_path_len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    ParentDir to;
    if (Errno e = resolve_parent(call, new_fd, kRightPathLinkTarget, new_path, new_path_len, &to)) {
      return e;
    }
    if (old_lookup_flags & kLookupSymlinkFollow) {
      // linkat(AT_SYMLINK_FOLLOW) would follow the link outside the sandbox;
      // resolve it confined first and link the object found.
      UniqueFd object;
      if (Errno e = resolve_object(call, old_fd, kRightPathLinkSource, old_lookup_flags, old_path,
                                   old_path_len, &object)) {
        return e;
      }
      return link_resolved(object.get(), to.dir.get(), to.name);
    }
    ParentDir from;
    if (Errno e = resolve_parent(call, old_fd, kRightPathLinkSource, old_path, old_path_len, &from)) {
      return e;
    }
    // A trailing slash would make the kernel follow the last component.
    if (from.name.back() == '/') return kErrnoNotdir;
    if (Errno e = check_symlink_move(from.dir.get(), from.name, to.dir.get(),
                                     *call.wasi.fd_get(new_fd))) {
      return e;
    }
    return result_of(
        ::linkat(from.dir.get(), from.name.c_str(), to.dir.get(), to.name.c_str(), 0));
  });
}

uint32_t Z_wasi_snapshot_preview1Z_path_readlink(GuestContext* ctx, uint32_t fd, uint32_t path,
                                                 uint32_t path_len, uint32_t buf, uint32_t buf_len,
                                                 uint32_t bufused_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    uint8_t* out = call.memory.writable_range(buf, buf_len);
    if (out == nullptr || call.memory.writable_range(bufused_ptr, 4) == nullptr) return kErrnoFault;
    UniqueFd link;
    if (Errno e = resolve_object(call, fd, kRightPathReadlink, 0, path, path_len, &link)) return e;
    struct stat st {};
    if (::fstat(link.get(), &st) != 0) return last_errno();
    if (!S_ISLNK(st.st_mode)) return kErrnoInval;
    char target[PATH_MAX];
    const ssize_t n = ::readlinkat(link.get(), "", target, sizeof(target));
    if (n < 0) return last_errno();
    // Like readlink(2): a short buffer gets the first bytes, no NUL.
    const uint32_t copied = static_cast<uint32_t>(n) < buf_len ? static_cast<uint32_t>(n) : buf_len;
    std::memcpy(out, target, copied);
    call.memory.store<uint32_t>(bufused_ptr, copied);
    return kErrnoSuccess;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_path_filestat_get(GuestContext* ctx, uint32_t fd,
                                                     uint32_t lookup_flags, uint32_t path,
                                                     uint32_t path_len, uint32_t filestat_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    if (call.memory.writable_range(filestat_ptr, layout::kFilestatSize) == nullptr) return kErrnoFault;
    UniqueFd object;
    if (Errno e = resolve_object(call, fd, kRightPathFilestatGet, lookup_flags, path, path_len,
                                 &object)) {
      return e;
    }
    struct stat st {};
    if (::fstat(object.get(), &st) != 0) return last_errno();
    return store_filestat(call.memory, filestat_ptr, st);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_path_filestat_set_times(GuestContext* ctx, uint32_t fd,
                                                           uint32_t lookup_flags, uint32_t path,
                                                           uint32_t path_len, uint64_t atim,
                                                           uint64_t mtim, uint32_t fst_flags) {
  return guarded(ctx, [&](Call& call) -> Errno {
    if (fst_flags > 0xffff) return kErrnoInval;
    struct timespec times[2];
    if (Errno e = times_from_fstflags(atim, mtim, static_cast<uint16_t>(fst_flags), times)) return e;
    UniqueFd object;
    if (Errno e = resolve_object(call, fd, kRightPathFilestatSetTimes, lookup_flags, path,
                                 path_len, &object)) {
      return e;
    }
    const int nofollow = (lookup_flags & kLookupSymlinkFollow) ? 0 : AT_SYMLINK_NOFOLLOW;
    return result_of(::utimensat(object.get(), "", times, AT_EMPTY_PATH | nofollow));
  });
}
