// What a guest may hold a descriptor to, beyond "resolves beneath a preopen".
// Kernel pseudo file systems (procfs, sysfs, ...) are not files: through a
// preopen of "/" they would hand the guest the host's environment, memory
// map and memory. Device nodes, FIFOs and sockets reach drivers and host
// processes, and opening a FIFO can block the host thread. Both are decided
// on the descriptor the kernel returned, never on a path, so no rename or
// mount race can slip past the check.
#pragma once

#include "wasi/wasi_abi.h"

namespace samepage::wasi {

// The name of the kernel pseudo file system holding `fd` ("procfs", ...), or
// nullptr when it is an ordinary one (or fstatfs fails: the caller's next
// use of the fd reports that).
const char* pseudo_fs_name(int fd);

// kErrnoSuccess when a guest may hold `fd`, else kErrnoAcces. `for_io`: the
// fd was (or will be) opened for reading or writing, not O_PATH, so device
// nodes, FIFOs and sockets are refused too; an O_PATH fd to them only
// allows stat, unlink and rename, which open nothing.
Errno check_guest_reachable(int fd, bool for_io);

}  // namespace samepage::wasi
