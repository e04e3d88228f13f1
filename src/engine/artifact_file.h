// Native code is only loaded from files checked on the descriptor that is
// then loaded: the cache directory, each cache entry, and a precompiled
// artifact are opened without following symlinks, checked with fstat
// (owner, type, mode), and dlopen'ed through /proc/self/fd, so nothing can
// swap the file between the check and the load.
#pragma once

#include <unistd.h>

#include <string>
#include <utility>

#include "samepage/status.h"
#include "samepage/unique_fd.h"

namespace samepage {

// Who may own a file we load native code from.
enum class TrustedOwner {
  TrustedOwner_self,          // cache entries: only this user wrote them
  TrustedOwner_self_or_root,  // precompiled artifacts: this user's, or installed by root
};

// Opens the compile cache directory, creating it (mode 0700) when missing.
// Refuses a symlink, a directory owned by another user, and one that group
// or others may write (they could plant objects that we would dlopen).
Result<UniqueFd> open_cache_dir(const std::string& path);

// Opens `name` relative to `dir_fd` (AT_FDCWD for a plain path) with
// O_NOFOLLOW and checks, on the descriptor, that it is a regular file owned
// as `owner` allows and writable by no group or other. Fails with ENOENT
// reported as `*missing` = true when the file does not exist.
Result<UniqueFd> open_trusted_file(int dir_fd, const std::string& name, const std::string& shown,
                                  TrustedOwner owner, bool* missing = nullptr);

// Checks, before anything is mapped, that `fd` holds a shared object for
// this machine (ELF class, byte order, architecture, ET_DYN) that names the
// samepage glue ABI.
Status check_elf_artifact(int fd, const std::string& shown);

// "/proc/self/fd/N": the name dlopen gets for a checked descriptor.
std::string fd_path(int fd);

}  // namespace samepage
