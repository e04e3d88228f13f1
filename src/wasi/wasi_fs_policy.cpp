#include "wasi/wasi_fs_policy.h"

#include <sys/stat.h>
#include <sys/vfs.h>

#include <cstdint>

#include "wasi/wasi_errno.h"

namespace samepage::wasi {
namespace {

// f_type values (linux/magic.h; configfs, mqueue and fusectl are not in
// every version of that header, so all are spelled out). Each exposes
// kernel or host-process state, or a control interface, rather than files.
struct PseudoFs {
  int64_t magic;
  const char* name;
};
constexpr PseudoFs kPseudoFs[] = {
    {0x9fa0, "procfs"},            // environ, maps, mem of every process
    {0x62656572, "sysfs"},         // devices, kernel tunables
    {0x64626720, "debugfs"},
    {0x74726163, "tracefs"},
    {0x73636673, "securityfs"},
    {0xf97cff8c, "selinuxfs"},
    {0x43415d53, "smackfs"},
    {0x27e0eb, "cgroup"},
    {0x63677270, "cgroup2"},
    {0x7655821, "resctrl"},
    {0xcafe4a11, "bpffs"},
    {0x62656570, "configfs"},
    {0x6165676c, "pstore"},
    {0xde5e81e4, "efivarfs"},
    {0x42494e4d, "binfmt_misc"},   // a write registers an interpreter: code execution
    {0x65735543, "fusectl"},
    {0x1cd1, "devpts"},            // terminals of the host
    {0x19800202, "mqueue"},
    {0x6e736673, "nsfs"},
};

}  // namespace

namespace {

const char* pseudo_fs_of(const struct statfs& fs) {
  // f_type is a signed word whose sign varies by arch; compare the low 32 bits.
  const int64_t magic = static_cast<int64_t>(static_cast<uint32_t>(fs.f_type));
  for (const PseudoFs& p : kPseudoFs) {
    if (p.magic == magic) return p.name;
  }
  return nullptr;
}

}  // namespace

const char* pseudo_fs_name(int fd) {
  struct statfs fs {};
  if (::fstatfs(fd, &fs) != 0) return nullptr;
  return pseudo_fs_of(fs);
}

Errno check_guest_reachable(int fd, bool for_io) {
  struct statfs fs {};
  if (::fstatfs(fd, &fs) != 0) return last_errno();  // fail closed
  if (pseudo_fs_of(fs) != nullptr) return kErrnoAcces;
  if (!for_io) return kErrnoSuccess;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_errno();
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
    return kErrnoAcces;
  }
  return kErrnoSuccess;
}

}  // namespace samepage::wasi
