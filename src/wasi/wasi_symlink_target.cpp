#include "wasi/wasi_symlink_target.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string_view>

#include "samepage/unique_fd.h"
#include "wasi/wasi_context.h"

namespace samepage::wasi {
namespace {

// How many directories `dir_fd` lies below the directory (dev, ino), found by
// walking ".." (which the host resolves, never a guest string). -1 when the
// walk reaches "/" without meeting it (the directory was moved out meanwhile)
// or fails: the caller then allows no climbing at all.
int depth_below(int dir_fd, uint64_t root_dev, uint64_t root_ino) {
  UniqueFd held;
  int cur = dir_fd;
  // A path of PATH_MAX bytes has at most PATH_MAX / 2 components.
  for (int depth = 0; depth <= PATH_MAX / 2; ++depth) {
    struct stat st {};
    if (::fstat(cur, &st) != 0) return -1;
    if (static_cast<uint64_t>(st.st_dev) == root_dev && static_cast<uint64_t>(st.st_ino) == root_ino) {
      return depth;
    }
    UniqueFd up(::openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!up.valid()) return -1;
    struct stat up_st {};
    if (::fstat(up.get(), &up_st) != 0) return -1;
    if (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino) return -1;  // "/" reached
    held = std::move(up);
    cur = held.get();
  }
  return -1;
}

}  // namespace

Errno check_symlink_target(const std::string& target, int link_dir_fd, const FdEntry& dir) {
  if (target.empty() || target[0] == '/') return kErrnoNotcapable;
  int climb_left = -1;  // measured lazily: most targets never climb
  bool descended = false;
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string::npos) end = target.size();
    const std::string_view part(target.data() + start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      descended = true;
      continue;
    }
    if (descended) return kErrnoNotcapable;
    if (climb_left < 0) {
      climb_left = depth_below(link_dir_fd, dir.preopen_dev, dir.preopen_ino);
      if (climb_left < 0) return kErrnoNotcapable;
    }
    if (climb_left == 0) return kErrnoNotcapable;
    --climb_left;
  }
  return kErrnoSuccess;
}

Errno check_symlink_move(int from_dir_fd, const std::string& name, int to_dir_fd,
                         const FdEntry& to_dir) {
  std::string bare = name;
  while (bare.size() > 1 && bare.back() == '/') bare.pop_back();
  struct stat st {};
  if (::fstatat(from_dir_fd, bare.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISLNK(st.st_mode)) {
    return kErrnoSuccess;  // the operation itself reports a missing source
  }
  char target[PATH_MAX];
  const ssize_t n = ::readlinkat(from_dir_fd, bare.c_str(), target, sizeof(target));
  if (n < 0 || n >= static_cast<ssize_t>(sizeof(target))) return kErrnoNotcapable;
  return check_symlink_target(std::string(target, static_cast<size_t>(n)), to_dir_fd, to_dir);
}

}  // namespace samepage::wasi
