// Sandboxed path resolution. Every guest path is resolved relative to a
// directory fd with openat2(RESOLVE_BENEATH): the kernel refuses `..` above
// that directory, absolute paths and symlinks (absolute or relative) that
// lead out of it, atomically, so no check-then-use race exists. Operations
// on a final component (mkdir, unlink, rename, ...) open the parent this way
// and then act with an *at() call that does not follow the last component.
#pragma once

#include <cstdint>
#include <string>

#include "guest_call/guest_memory.h"
#include "samepage/unique_fd.h"
#include "wasi/wasi_abi.h"

namespace samepage::wasi {

// Copies a path argument out of guest memory. kErrnoFault when out of range,
// kErrnoNoent when empty, kErrnoInval with an embedded NUL, kErrnoNametoolong
// beyond PATH_MAX.
Errno read_guest_path(const GuestMemory& memory, uint32_t ptr, uint32_t len, std::string* out);

// openat2(dir_fd, path, flags, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS).
// An escape gives kErrnoNotcapable. O_CLOEXEC is always added. What the
// guest may not hold (wasi_fs_policy.h: pseudo file systems; device nodes,
// FIFOs and sockets unless O_PATH) gives kErrnoAcces, checked on the opened
// descriptor; such files are never opened for I/O, not even briefly.
Errno open_beneath(int dir_fd, const std::string& path, int flags, mode_t mode, UniqueFd* out);

// The directory that holds a path's last component, opened O_PATH beneath
// dir_fd, and that component. `name` keeps one trailing '/' when the path had
// one, so the kernel applies POSIX "must be a directory" rules. A last
// component of "." or ".." is resolved whole (confined) and becomes "." of
// the directory it names, so no *at() call ever sees "..".
struct ParentDir {
  UniqueFd dir;
  std::string name;
};
Errno open_parent(int dir_fd, const std::string& path, ParentDir* out);

// Whether openat2 with RESOLVE_BENEATH works on this kernel; without it the
// sandbox cannot be enforced and preopens are refused.
bool resolve_beneath_supported(int dir_fd);

}  // namespace samepage::wasi
