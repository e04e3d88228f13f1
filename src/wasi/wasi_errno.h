// Host errno → WASI errno.
#pragma once

#include "wasi/wasi_abi.h"

namespace samepage::wasi {

// Maps a Linux errno to its WASI preview1 counterpart; anything WASI has no
// name for becomes kErrnoIo.
Errno errno_from_host(int host_errno);

// errno_from_host(errno), for the line right after a failed libc call.
Errno last_errno();

}  // namespace samepage::wasi
