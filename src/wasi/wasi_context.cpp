#include "wasi/wasi_context.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <limits>

#include "wasi/wasi_fs_policy.h"
#include "wasi/wasi_path.h"
#include "wasi/wasi_stat.h"

namespace samepage {
namespace {

using wasi::FdEntry;

constexpr uint64_t kRightsUnseekable = wasi::kRightFdSeek | wasi::kRightFdTell;
constexpr uint64_t kRightsReadSide = wasi::kRightFdRead;
constexpr uint64_t kRightsWriteSide =
    wasi::kRightFdWrite | wasi::kRightFdAllocate | wasi::kRightFdFilestatSetSize;

// Guest fd 0-2: a private duplicate of the host fd, so the guest closing or
// renumbering it leaves the host's stdio alone.
Result<std::unique_ptr<FdEntry>> make_stdio_entry(int host_fd, bool is_input) {
  const int dup_fd = ::fcntl(host_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) {
    return err("wasi::stdio", "cannot duplicate host fd " + std::to_string(host_fd) + ": " +
                                  std::strerror(errno));
  }
  auto entry = std::make_unique<FdEntry>();
  entry->host.reset(dup_fd);
  struct stat st {};
  if (::fstat(dup_fd, &st) != 0) {
    return err("wasi::stdio", "cannot stat host fd " + std::to_string(host_fd) + ": " +
                                  std::strerror(errno));
  }
  entry->filetype = wasi::filetype_from_mode(st.st_mode);
  uint64_t rights = wasi::kRightsFile & ~(is_input ? kRightsWriteSide : kRightsReadSide);
  // No seek/tell on terminals and pipes: wasi-libc's isatty() looks for a
  // character device without them.
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) rights &= ~kRightsUnseekable;
  entry->rights_base = rights;
  entry->rights_inheriting = 0;
  entry->writable = !is_input;
  return entry;
}

Result<std::unique_ptr<FdEntry>> make_preopen_entry(const WasiConfig::Preopen& preopen) {
  const std::string what = "'" + preopen.host_path + "' (guest path '" + preopen.guest_path + "')";
  if (preopen.guest_path.empty()) return err("wasi::preopen", "empty guest path for " + what);
  const int fd = ::open(preopen.host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return err("wasi::preopen", "cannot open directory " + what + ": " + std::strerror(errno));
  }
  auto entry = std::make_unique<FdEntry>();
  entry->host.reset(fd);
  // Every path beneath it would be refused anyway (wasi_fs_policy.h); saying
  // so now beats a guest that starts and finds nothing it can open.
  if (const char* fs = wasi::pseudo_fs_name(fd)) {
    return err("wasi::preopen", "refusing to preopen " + what + ": it is on " + fs +
                                    ", a kernel pseudo file system (host process and kernel "
                                    "state, not files)");
  }
  if (!wasi::resolve_beneath_supported(fd)) {
    return err("wasi::preopen",
               "openat2(RESOLVE_BENEATH) is unavailable (Linux >= 5.6 needed, or a seccomp "
               "filter blocks it); refusing to preopen " + what + " without a sandbox");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return err("wasi::preopen", "cannot stat directory " + what + ": " + std::strerror(errno));
  }
  entry->preopen_dev = st.st_dev;
  entry->preopen_ino = st.st_ino;
  entry->filetype = wasi::kFiletypeDirectory;
  entry->path_only = true;
  entry->is_preopen = true;
  entry->preopen_name = preopen.guest_path;
  entry->writable = preopen.writable;
  entry->rights_base =
      preopen.writable ? wasi::kRightsDirectory : wasi::kRightsDirectory & ~wasi::kRightsMutating;
  // Inheriting rights stay complete even when read-only: wasi-libc derives the
  // rights it asks path_open for from them, so a write intent reaches
  // path_open and is refused there with ENOTCAPABLE instead of silently
  // becoming a read-only open whose writes fail later.
  entry->rights_inheriting = wasi::kRightsAll;
  return entry;
}

Status check_strings(const std::vector<std::string>& strings, const char* what) {
  uint64_t total = 0;
  for (const std::string& s : strings) {
    if (s.find('\0') != std::string::npos) {
      return err("wasi::config", std::string(what) + " entry contains a NUL byte");
    }
    total += s.size() + 1;
  }
  if (total > std::numeric_limits<uint32_t>::max() / 2 ||
      strings.size() > std::numeric_limits<uint32_t>::max() / 8) {
    return err("wasi::config", std::string(what) + " too large for a 32-bit guest");
  }
  return Status::ok();
}

// Fds open in the process now; 0 when /proc cannot say.
uint64_t open_fd_count() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (const struct dirent* d = ::readdir(dir)) n += d->d_name[0] != '.';
  ::closedir(dir);
  return n > 0 ? n - 1 : 0;  // not the directory's own fd
}

// The guest's fd cap: what it asked for, bounded by the soft RLIMIT_NOFILE
// less the fds open now and the host's reserve. A guest can then run out of
// fds, but never take the host's last ones.
Result<uint32_t> fd_cap(const GuestLimits& limits, size_t n_initial) {
  const uint64_t wanted = limits.open_fds == 0 ? kDefaultOpenFds : limits.open_fds;
  struct rlimit rl {};
  uint64_t room = wanted;
  std::string why = "--max-fds " + std::to_string(wanted);
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const uint64_t soft = rl.rlim_cur;
    const uint64_t used = open_fd_count() + WasiContext::host_fd_reserve(soft);
    room = soft > used ? soft - used : 0;
    if (room < wanted)
      why = "RLIMIT_NOFILE " + std::to_string(soft) + " less " + std::to_string(open_fd_count()) +
            " open and a host reserve of " + std::to_string(WasiContext::host_fd_reserve(soft));
  }
  const uint64_t cap = std::min(wanted, room);
  if (cap < n_initial)
    return err("wasi::fds", "the guest's " + std::to_string(n_initial) + " stdio and preopen fds do not fit its fd limit of " +
                                std::to_string(cap) + " (" + why + "; raise it with --max-fds or ulimit -n)");
  return static_cast<uint32_t>(cap);
}

}  // namespace

uint32_t WasiContext::host_fd_reserve(uint64_t soft_limit) {
  // A quarter of the limit, at least 32: enough for the host's transient opens.
  return static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(32, soft_limit / 4), 1024));
}

Result<std::unique_ptr<WasiContext>> WasiContext::create(const WasiConfig& config, const GuestLimits& limits,
                                                         GuestAccount* account) {
  if (Status s = check_strings(config.args, "argument"); !s) return s;
  if (Status s = check_strings(config.env, "environment"); !s) return s;
  auto cap = fd_cap(limits, 3 + config.preopens.size());
  if (!cap) return cap.status();
  std::unique_ptr<WasiContext> context(new WasiContext());
  context->max_fds_ = cap.value();
  if (account == nullptr) {
    context->own_account_ = std::make_unique<GuestAccount>(limits);
    account = context->own_account_.get();
  }
  context->account_ = account;
  context->args_ = config.args;
  context->env_ = config.env;

  const int stdio[3] = {config.stdin_fd, config.stdout_fd, config.stderr_fd};
  for (int i = 0; i < 3; ++i) {
    if (stdio[i] < 0) {  // no such stream: guest fd i stays closed
      context->fds_.push_back(nullptr);
      continue;
    }
    auto entry = make_stdio_entry(stdio[i], i == 0);
    if (!entry) return entry.status();
    context->fds_.push_back(std::move(entry.value()));
  }
  for (const WasiConfig::Preopen& preopen : config.preopens) {
    auto entry = make_preopen_entry(preopen);
    if (!entry) return entry.status();
    context->fds_.push_back(std::move(entry.value()));
  }
  return context;
}

WasiContext::~WasiContext() = default;  // UniqueFd closes every host fd

wasi::FdEntry* WasiContext::fd_get(uint32_t fd) {
  if (fd >= fds_.size()) return nullptr;
  return fds_[fd].get();
}

wasi::Errno WasiContext::fd_insert(wasi::FdEntry entry, uint32_t* fd_out) {
  for (uint32_t fd = 0; fd < fds_.size(); ++fd) {
    if (fds_[fd] == nullptr) {
      fds_[fd] = std::make_unique<FdEntry>(std::move(entry));
      *fd_out = fd;
      return wasi::kErrnoSuccess;
    }
  }
  if (fds_.size() >= max_fds_) return wasi::kErrnoMfile;
  fds_.push_back(std::make_unique<FdEntry>(std::move(entry)));
  *fd_out = static_cast<uint32_t>(fds_.size() - 1);
  return wasi::kErrnoSuccess;
}

wasi::Errno WasiContext::fd_close(uint32_t fd) {
  if (fd_get(fd) == nullptr) return wasi::kErrnoBadf;
  fds_[fd].reset();
  while (!fds_.empty() && fds_.back() == nullptr) fds_.pop_back();
  return wasi::kErrnoSuccess;
}

wasi::Errno WasiContext::fd_renumber(uint32_t from, uint32_t to) {
  if (fd_get(from) == nullptr || fd_get(to) == nullptr) return wasi::kErrnoBadf;
  if (from == to) return wasi::kErrnoSuccess;
  fds_[to] = std::move(fds_[from]);  // the old entry at `to` closes here
  while (!fds_.empty() && fds_.back() == nullptr) fds_.pop_back();
  return wasi::kErrnoSuccess;
}

}  // namespace samepage
