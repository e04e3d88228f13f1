#include "wasi/wasi_stat.h"

#include <dirent.h>

#include <cstring>

namespace samepage::wasi {

uint8_t filetype_from_mode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return kFiletypeRegularFile;
    case S_IFDIR: return kFiletypeDirectory;
    case S_IFLNK: return kFiletypeSymbolicLink;
    case S_IFCHR: return kFiletypeCharacterDevice;
    case S_IFBLK: return kFiletypeBlockDevice;
    case S_IFSOCK: return kFiletypeSocketStream;
    default: return kFiletypeUnknown;  // FIFOs have no WASI filetype
  }
}

uint8_t filetype_from_dirent_type(unsigned char d_type) {
  switch (d_type) {
    case DT_REG: return kFiletypeRegularFile;
    case DT_DIR: return kFiletypeDirectory;
    case DT_LNK: return kFiletypeSymbolicLink;
    case DT_CHR: return kFiletypeCharacterDevice;
    case DT_BLK: return kFiletypeBlockDevice;
    case DT_SOCK: return kFiletypeSocketStream;
    default: return kFiletypeUnknown;
  }
}

uint64_t timespec_to_ns(const struct timespec& ts) {
  if (ts.tv_sec < 0) return 0;  // WASI timestamps are unsigned
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct timespec ns_to_timespec(uint64_t ns) {
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(ns / 1000000000ull);
  ts.tv_nsec = static_cast<long>(ns % 1000000000ull);
  return ts;
}

Errno store_filestat(const GuestMemory& memory, uint32_t offset, const struct stat& st) {
  uint8_t* out = memory.writable_range(offset, layout::kFilestatSize);
  if (out == nullptr) return kErrnoFault;
  const uint64_t fields[8] = {
      static_cast<uint64_t>(st.st_dev),
      static_cast<uint64_t>(st.st_ino),
      filetype_from_mode(st.st_mode),  // a u8 at 16; the rest of that word is padding
      static_cast<uint64_t>(st.st_nlink),
      static_cast<uint64_t>(st.st_size),
      timespec_to_ns(st.st_atim),
      timespec_to_ns(st.st_mtim),
      timespec_to_ns(st.st_ctim),
  };
  std::memcpy(out, fields, sizeof(fields));  // little-endian host, same layout
  return kErrnoSuccess;
}

Errno times_from_fstflags(uint64_t atim_ns, uint64_t mtim_ns, uint16_t fst_flags,
                          struct timespec out[2]) {
  if ((fst_flags & kFstflagAtim) && (fst_flags & kFstflagAtimNow)) return kErrnoInval;
  if ((fst_flags & kFstflagMtim) && (fst_flags & kFstflagMtimNow)) return kErrnoInval;
  if (fst_flags & ~(kFstflagAtim | kFstflagAtimNow | kFstflagMtim | kFstflagMtimNow)) return kErrnoInval;
  auto pick = [](bool set, bool now, uint64_t ns) {
    struct timespec ts {};
    if (now) {
      ts.tv_nsec = UTIME_NOW;
    } else if (set) {
      ts = ns_to_timespec(ns);
    } else {
      ts.tv_nsec = UTIME_OMIT;
    }
    return ts;
  };
  out[0] = pick(fst_flags & kFstflagAtim, fst_flags & kFstflagAtimNow, atim_ns);
  out[1] = pick(fst_flags & kFstflagMtim, fst_flags & kFstflagMtimNow, mtim_ns);
  return kErrnoSuccess;
}

}  // namespace samepage::wasi
