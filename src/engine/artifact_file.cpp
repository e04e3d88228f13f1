#include "engine/artifact_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

namespace samepage {
namespace {

constexpr const char* kWhere = "engine::artifact";

#if defined(__x86_64__)
constexpr uint16_t kMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kMachine = EM_AARCH64;
#else
#error "samepage: set the ELF machine of this architecture"
#endif

std::string writable_by(mode_t mode) {
  if (mode & S_IWOTH) return "everyone";
  return "its group";
}

}  // namespace

Result<UniqueFd> open_cache_dir(const std::string& path) {
  // Only the last component is created here, private from the start; parents
  // are the user's own business ($HOME/.cache).
  if (mkdir(path.c_str(), 0700) != 0 && errno == ENOENT) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    mkdir(path.c_str(), 0700);
  }
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR)
      return err(kWhere, "cache directory " + path + " is a symbolic link or not a directory; refusing it");
    return err(kWhere, "cannot open cache directory " + path + ": " + strerror(errno));
  }
  UniqueFd dir(fd);
  struct stat st {};
  if (fstat(dir.get(), &st) != 0) return err(kWhere, "cannot stat cache directory " + path + ": " + strerror(errno));
  if (st.st_uid != geteuid())
    return err(kWhere, "cache directory " + path + " belongs to uid " + std::to_string(st.st_uid) +
                           ", not this user; refusing it (use --cache-dir)");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return err(kWhere, "cache directory " + path + " is writable by " + writable_by(st.st_mode) +
                           "; refusing it (chmod go-w " + path + ", or use --cache-dir)");
  return dir;
}

Result<UniqueFd> open_trusted_file(int dir_fd, const std::string& name, const std::string& shown,
                                  TrustedOwner owner, bool* missing) {
  if (missing != nullptr) *missing = false;
  // O_NONBLOCK: opening a planted FIFO must not hang; fstat refuses it next.
  const int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT && missing != nullptr) *missing = true;
    if (errno == ELOOP) return err(kWhere, shown + " is a symbolic link; refusing to load native code through it");
    return err(kWhere, "cannot open " + shown + ": " + strerror(errno));
  }
  UniqueFd file(fd);
  struct stat st {};
  if (fstat(file.get(), &st) != 0) return err(kWhere, "cannot stat " + shown + ": " + strerror(errno));
  if (!S_ISREG(st.st_mode)) return err(kWhere, shown + " is not a regular file; refusing to load it");
  const bool owner_ok = st.st_uid == geteuid() || (owner == TrustedOwner::TrustedOwner_self_or_root && st.st_uid == 0);
  if (!owner_ok)
    return err(kWhere, shown + " belongs to uid " + std::to_string(st.st_uid) +
                           (owner == TrustedOwner::TrustedOwner_self ? ", not this user" : ", neither this user nor root") +
                           "; refusing to load native code from it");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return err(kWhere, shown + " is writable by " + writable_by(st.st_mode) + "; refusing to load native code from it");
  return file;
}

Status check_elf_artifact(int fd, const std::string& shown) {
  Elf64_Ehdr header {};
  if (pread(fd, &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return err(kWhere, shown + " is not an ELF file");
  const bool little = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != (little ? ELFDATA2LSB : ELFDATA2MSB) ||
      header.e_machine != kMachine)
    return err(kWhere, shown + " was built for another machine (ELF class, byte order or architecture differ)");
  if (header.e_type != ET_DYN) return err(kWhere, shown + " is not a shared object");
  // Cheap and honest: the glue's ABI symbol name must be in the file. Not
  // proof of origin (that is what --allow-precompiled asks the user for), but
  // it turns away an arbitrary library before its constructors could run.
  constexpr std::string_view kNeedle = "samepage_glue_abi";
  std::vector<char> buf(1 << 16);
  std::string carry;
  off_t offset = 0;
  for (;;) {
    const ssize_t n = pread(fd, buf.data(), buf.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    offset += n;
    std::string window = carry + std::string(buf.data(), static_cast<size_t>(n));
    if (window.find(kNeedle) != std::string::npos) return Status::ok();
    carry = window.substr(window.size() - std::min(window.size(), kNeedle.size() - 1));
  }
  return err(kWhere, shown + " is not a samepage artifact (no samepage_glue_abi symbol)");
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace samepage
