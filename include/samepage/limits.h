// What one guest may make the host spend, in one place (Wasmtime's
// StoreLimits in spirit). Every host allocation made on a guest's behalf is
// charged to that guest; a limit's error names the limit and the CLI flag
// that raises it. The defaults suit one trusted operator running untrusted
// modules on a workstation.
#pragma once

#include <cstdint>

namespace samepage {

struct GuestLimits {
  // Host bytes a guest can make the host allocate beyond its linear memory:
  // runtime tensors, copy-mode staging, tables, WASI buffers (--max-host-mb).
  uint64_t host_bytes = uint64_t{4} << 30;
  // Elements across the guest's tables; table.grow past it fails (--max-table-elements).
  uint32_t table_elements = 1u << 20;
  // Open WASI fds; 0 derives it from RLIMIT_NOFILE, keeping a reserve for the host (--max-fds).
  uint32_t open_fds = 0;
  // Const (write-protected) ranges; each costs kernel mappings, and the
  // process-wide map count is shared by every guest (--max-const-ranges).
  uint32_t const_ranges = 4096;
  // Wall-clock time a call (instantiation included) may run; 0 is unbounded (--timeout).
  uint64_t timeout_ms = 0;
};

}  // namespace samepage
