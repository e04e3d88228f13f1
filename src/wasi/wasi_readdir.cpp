// fd_readdir. Cookies are indices into a listing of the directory taken when
// the guest (re)starts at cookie 0: entry n carries d_next = n + 1, so a guest
// that resumes from any d_next it saw continues exactly where it stopped,
// however its buffer cut the stream.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "wasi/wasi_call.h"
#include "wasi/wasi_errno.h"
#include "wasi/wasi_functions.h"
#include "wasi/wasi_stat.h"

namespace samepage::wasi {
namespace {

Errno take_listing(GuestAccount& account, FdEntry& entry) {
  entry.dir_listing_charge.reset();  // the old listing goes below
  entry.dir_listing.clear();
  entry.has_dir_listing = false;
  // A fresh open of "." so the listing starts at the beginning and the
  // entry's own fd (possibly O_PATH) keeps no stream position.
  const int dir_fd = ::openat(entry.host.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return last_errno();
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    const Errno e = last_errno();
    ::close(dir_fd);
    return e;
  }
  std::vector<DirEntry> listing;
  // A guest that can create files could make a listing of any size: it is
  // charged entry by entry, before each is kept.
  BytesCharge charge(&account, 0);
  errno = 0;
  while (const struct dirent* d = ::readdir(dir)) {
    if (!charge.add(sizeof(DirEntry) + std::strlen(d->d_name) + 1)) {
      ::closedir(dir);
      return kErrnoNomem;
    }
    DirEntry e;
    e.name = d->d_name;
    e.ino = d->d_ino;
    e.filetype = filetype_from_dirent_type(d->d_type);
    if (d->d_type == DT_UNKNOWN) {  // some file systems leave d_type empty
      struct stat st {};
      if (::fstatat(::dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        e.filetype = filetype_from_mode(st.st_mode);
      }
    }
    listing.push_back(std::move(e));
    errno = 0;
  }
  const int read_errno = errno;
  ::closedir(dir);
  if (read_errno != 0) return errno_from_host(read_errno);
  entry.dir_listing = std::move(listing);
  entry.dir_listing_charge = std::move(charge);
  entry.has_dir_listing = true;
  return kErrnoSuccess;
}

}  // namespace
}  // namespace samepage::wasi

using samepage::GuestContext;
using namespace samepage::wasi;

uint32_t Z_wasi_snapshot_preview1Z_fd_readdir(GuestContext* ctx, uint32_t fd, uint32_t buf,
                                              uint32_t buf_len, uint64_t cookie,
                                              uint32_t bufused_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    FdEntry* entry = call.wasi.fd_get(fd);
    if (entry == nullptr) return kErrnoBadf;
    if (!entry->is_directory()) return kErrnoNotdir;
    if (!entry->has_rights(kRightFdReaddir)) return kErrnoBadf;
    uint8_t* out = call.memory.writable_range(buf, buf_len);
    if (out == nullptr || call.memory.writable_range(bufused_ptr, 4) == nullptr) return kErrnoFault;
    if (cookie == 0 || !entry->has_dir_listing) {
      if (Errno e = take_listing(call.wasi.account(), *entry)) return e;
    }
    const std::vector<DirEntry>& listing = entry->dir_listing;
    // Fill the buffer; the last entry may be cut short, which tells the
    // guest (bufused == buf_len) to call again with a larger buffer or the
    // last complete d_next.
    uint64_t used = 0;
    for (uint64_t i = cookie; i < listing.size() && used < buf_len; ++i) {
      const DirEntry& e = listing[i];
      uint8_t header[layout::kDirentSize] = {};
      const uint64_t next = i + 1;
      const uint32_t name_len = static_cast<uint32_t>(e.name.size());
      std::memcpy(header + 0, &next, 8);
      std::memcpy(header + 8, &e.ino, 8);
      std::memcpy(header + 16, &name_len, 4);
      header[20] = e.filetype;
      const uint64_t header_n = std::min<uint64_t>(layout::kDirentSize, buf_len - used);
      std::memcpy(out + used, header, header_n);
      used += header_n;
      const uint64_t name_n = std::min<uint64_t>(name_len, buf_len - used);
      std::memcpy(out + used, e.name.data(), name_n);
      used += name_n;
    }
    call.memory.store<uint32_t>(bufused_ptr, static_cast<uint32_t>(used));
    return kErrnoSuccess;
  });
}
