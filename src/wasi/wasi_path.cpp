#include "wasi/wasi_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "wasi/wasi_errno.h"
#include "wasi/wasi_fs_policy.h"

namespace samepage::wasi {
namespace {

int sys_openat2(int dir_fd, const char* path, int flags, mode_t mode) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  // The kernel rejects a mode without O_CREAT/O_TMPFILE (O_TMPFILE includes
  // the O_DIRECTORY bit, hence the full comparison).
  const bool creates = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  how.mode = creates ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, dir_fd, path, &how, sizeof(how)));
}

Errno open_confined(int dir_fd, const std::string& path, int flags, mode_t mode, UniqueFd* out) {
  // EAGAIN: a concurrent rename raced a `..` lookup; the kernel asks to retry.
  // EINTR: an open that waits (a lease, a slow file system) can be interrupted.
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int fd = sys_openat2(dir_fd, path.c_str(), flags, mode);
    if (fd >= 0) {
      out->reset(fd);
      return kErrnoSuccess;
    }
    if (errno == EAGAIN || errno == EINTR) continue;
    // EXDEV is how RESOLVE_BENEATH reports an escape; ELOOP with
    // RESOLVE_NO_MAGICLINKS is a /proc magic link.
    if (errno == EXDEV) return kErrnoNotcapable;
    return last_errno();
  }
  return kErrnoAgain;
}

}  // namespace

Errno read_guest_path(const GuestMemory& memory, uint32_t ptr, uint32_t len, std::string* out) {
  const uint8_t* bytes = memory.range(ptr, len);
  if (bytes == nullptr) return kErrnoFault;
  if (len == 0) return kErrnoNoent;  // POSIX: an empty path names nothing
  if (len >= PATH_MAX) return kErrnoNametoolong;
  if (std::memchr(bytes, 0, len) != nullptr) return kErrnoInval;
  out->assign(reinterpret_cast<const char*>(bytes), len);
  return kErrnoSuccess;
}

Errno open_beneath(int dir_fd, const std::string& path, int flags, mode_t mode, UniqueFd* out) {
  const bool for_io = (flags & O_PATH) == 0;
  // Look before opening: an O_PATH probe opens no device driver and never
  // blocks on a FIFO, so the refusals below cost the host nothing. A probe
  // that fails (a file O_CREAT will make) leaves the answer to the real open;
  // with O_EXCL anything existing is EEXIST anyway.
  const bool exclusive = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
  if (for_io && !exclusive) {
    UniqueFd probe;
    const int probe_flags = O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY));
    if (open_confined(dir_fd, path, probe_flags, 0, &probe) == kErrnoSuccess) {
      if (Errno e = check_guest_reachable(probe.get(), true)) return e;
    }
  }
  // The probe is advice (the name may be swapped in between); the check on
  // the descriptor actually opened decides. O_NONBLOCK keeps a FIFO swapped
  // in from blocking the host meanwhile; it is dropped again afterwards.
  UniqueFd fd;
  if (Errno e = open_confined(dir_fd, path, for_io ? flags | O_NONBLOCK : flags, mode, &fd)) return e;
  if (Errno e = check_guest_reachable(fd.get(), for_io)) return e;
  if (for_io && (flags & O_NONBLOCK) == 0) {
    const int fl = ::fcntl(fd.get(), F_GETFL);
    if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) return last_errno();
  }
  *out = std::move(fd);
  return kErrnoSuccess;
}

Errno open_parent(int dir_fd, const std::string& path, ParentDir* out) {
  if (path.empty()) return kErrnoNoent;
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  const bool trailing_slash = end != path.size();
  if (end == 0 || path[0] == '/') return kErrnoNotcapable;  // absolute: never beneath
  const std::string core = path.substr(0, end);

  const size_t slash = core.rfind('/');
  std::string name = slash == std::string::npos ? core : core.substr(slash + 1);
  if (name == "." || name == "..") {
    out->name = ".";
    return open_beneath(dir_fd, core, O_PATH | O_DIRECTORY, 0, &out->dir);
  }
  const std::string parent = slash == std::string::npos ? "." : core.substr(0, slash);
  if (trailing_slash) name += '/';
  out->name = std::move(name);
  return open_beneath(dir_fd, parent, O_PATH | O_DIRECTORY, 0, &out->dir);
}

bool resolve_beneath_supported(int dir_fd) {
  const int fd = sys_openat2(dir_fd, ".", O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace samepage::wasi
