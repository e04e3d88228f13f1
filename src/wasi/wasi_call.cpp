#include "wasi/wasi_call.h"

#include <fcntl.h>
#include <limits.h>

#include "wasi/wasi_errno.h"

namespace samepage::wasi {

Errno fd_lookup(Call& call, uint32_t fd, uint64_t rights, FdEntry** out) {
  FdEntry* entry = call.wasi.fd_get(fd);
  if (entry == nullptr || !entry->has_rights(rights)) return kErrnoBadf;
  *out = entry;
  return kErrnoSuccess;
}

Errno dir_lookup(Call& call, uint32_t fd, uint64_t rights, FdEntry** out) {
  FdEntry* entry = call.wasi.fd_get(fd);
  if (entry == nullptr) return kErrnoBadf;
  if (!entry->is_directory()) return kErrnoNotdir;
  if (!entry->has_rights(rights)) return kErrnoNotcapable;
  *out = entry;
  return kErrnoSuccess;
}

Errno gather_iovecs(const GuestMemory& memory, uint32_t iovs, uint32_t iovs_len,
                    std::vector<struct iovec>* out) {
  const uint8_t* array = memory.range(iovs, uint64_t{iovs_len} * layout::kIovecSize);
  if (array == nullptr) return kErrnoFault;
  const uint32_t n = iovs_len < IOV_MAX ? iovs_len : IOV_MAX;
  out->clear();
  out->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t buf = 0, buf_len = 0;
    if (!memory.load(uint64_t{iovs} + i * 8ull, &buf) ||
        !memory.load(uint64_t{iovs} + i * 8ull + 4, &buf_len)) {
      return kErrnoFault;
    }
    uint8_t* host = memory.range(buf, buf_len);
    if (host == nullptr) return kErrnoFault;
    out->push_back({host, buf_len});
  }
  return kErrnoSuccess;
}

Errno usable_fd(const FdEntry& entry, int flags, UniqueFd* scratch, int* fd_out) {
  if (!entry.path_only) {
    *fd_out = entry.host.get();
    return kErrnoSuccess;
  }
  // "." of an O_PATH directory fd is the directory itself; no path lookup
  // beyond it happens, so this needs no RESOLVE_BENEATH.
  const int fd = ::openat(entry.host.get(), ".", flags | O_CLOEXEC);
  if (fd < 0) return last_errno();
  scratch->reset(fd);
  *fd_out = fd;
  return kErrnoSuccess;
}

}  // namespace samepage::wasi
