// What one guest may make the host spend, in one place (Wasmtime's
// StoreLimits in spirit). Every host allocation made on a guest's behalf is
// charged to that guest; a limit's error names the limit and the CLI flag
// that raises it. The defaults suit one trusted operator running untrusted
// modules on a workstation.
#pragma once

#include <cstdint>

namespace samepage {

// Upper bound on a guest's fds when GuestLimits::open_fds is 0.
constexpr uint32_t kDefaultOpenFds = 4096;

struct GuestLimits {
  // Host bytes a guest can make the host allocate beyond its linear memory:
  // runtime tensors, copy-mode staging, tables, WASI buffers (--max-host-mb).
  uint64_t host_bytes = uint64_t{4} << 30;
  // Elements across the guest's tables; table.grow past it fails (--max-table-elements).
  uint32_t table_elements = 1u << 20;
  // Open WASI fds (stdio and preopens included). Whatever is asked, the
  // guest gets at most what RLIMIT_NOFILE leaves after the fds already open
  // and a reserve for the host's own later opens (sp_stats, model mapping);
  // 0 asks for kDefaultOpenFds (--max-fds).
  uint32_t open_fds = 0;
  // Const (write-protected) ranges; each costs kernel mappings, and the
  // process-wide map count is shared by every guest (--max-const-ranges).
  uint32_t const_ranges = 4096;
  // Live instances in the process, this one included, checked when it is
  // created. Each reserves 8 GiB of address space (4 GiB + guard) and a few
  // mappings; 1024 of them hold 8 TiB of the 128 TiB user address space.
  uint32_t live_instances = 1024;
  // Wall-clock time a call (instantiation included) may run; 0 is unbounded (--timeout).
  uint64_t timeout_ms = 0;
};

}  // namespace samepage
