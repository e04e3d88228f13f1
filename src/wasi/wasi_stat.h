// Conversions between host stat data and WASI's filestat/filetype/timestamps.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdint>

#include "guest_call/guest_memory.h"
#include "wasi/wasi_abi.h"

namespace samepage::wasi {

uint8_t filetype_from_mode(mode_t mode);
// A dirent d_type (DT_*) to a WASI filetype; DT_UNKNOWN gives kFiletypeUnknown.
uint8_t filetype_from_dirent_type(unsigned char d_type);

uint64_t timespec_to_ns(const struct timespec& ts);
struct timespec ns_to_timespec(uint64_t ns);

// Writes a 64-byte filestat at `offset`; kErrnoFault when out of range.
Errno store_filestat(const GuestMemory& memory, uint32_t offset, const struct stat& st);

// Builds utimensat's two timespecs from WASI times and fstflags; kErrnoInval
// when a time is both given and "now".
Errno times_from_fstflags(uint64_t atim_ns, uint64_t mtim_ns, uint16_t fst_flags,
                          struct timespec out[2]);

}  // namespace samepage::wasi
