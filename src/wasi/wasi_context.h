// The WASI state of one guest: arguments, environment and the descriptor
// table that maps guest fds to host fds. Guest fds 0-2 are duplicates of the
// configured stdio fds; preopened directories follow from fd 3 in config
// order. Every host fd here is owned and closed by the context, so a guest
// closing its fd 1 never closes the host's stdout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "samepage/guest_account.h"
#include "samepage/limits.h"
#include "samepage/status.h"
#include "samepage/wasi_config.h"
#include "samepage/unique_fd.h"
#include "wasi/wasi_abi.h"

namespace samepage {

namespace wasi {

// One directory entry as fd_readdir reports it.
struct DirEntry {
  std::string name;
  uint64_t ino = 0;
  uint8_t filetype = kFiletypeUnknown;
};

struct FdEntry {
  UniqueFd host;
  uint8_t filetype = kFiletypeUnknown;
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;
  // Whether the file system beneath (a directory) or the file itself may be
  // changed. False under a read-only preopen; rights are masked to match.
  bool writable = false;
  bool path_only = false;        // host fd is O_PATH: no read/write/sync on it
  bool is_preopen = false;
  std::string preopen_name;      // guest path of a preopen ("/sandbox")
  // Opened beneath a preopen: that preopen's guest path and the path the
  // guest gave from it (joined through the directories it came by).
  std::string origin_preopen;
  std::string origin_path;
  // The preopened directory this entry was reached from (itself for a
  // preopen), by identity: path_symlink measures a link's depth below it.
  uint64_t preopen_dev = 0;
  uint64_t preopen_ino = 0;
  // fd_readdir state: a listing taken when the guest starts at cookie 0;
  // cookie n names entry n, so d_next of entry n is n + 1.
  std::vector<DirEntry> dir_listing;
  bool has_dir_listing = false;
  BytesCharge dir_listing_charge;  // the listing's host bytes, charged to the guest

  bool has_rights(uint64_t rights) const { return (rights_base & rights) == rights; }
  bool is_directory() const { return filetype == kFiletypeDirectory; }
};

}  // namespace wasi

class WasiContext {
 public:
  // Opens the preopens (a missing or non-directory host path is an error
  // naming it) and duplicates the stdio fds. The guest's fd cap is
  // limits.open_fds bounded by what RLIMIT_NOFILE leaves for it (max_fds()).
  // Scratch buffers sized by guest counts are charged to account (null: one
  // of the context's own, with limits).
  static Result<std::unique_ptr<WasiContext>> create(const WasiConfig& config, const GuestLimits& limits = {},
                                                     GuestAccount* account = nullptr);
  ~WasiContext();
  WasiContext(const WasiContext&) = delete;
  WasiContext& operator=(const WasiContext&) = delete;

  const std::vector<std::string>& args() const { return args_; }
  const std::vector<std::string>& env() const { return env_; }

  // The entry behind a guest fd, or nullptr when it is not open.
  wasi::FdEntry* fd_get(uint32_t fd);
  // Puts an entry at the lowest free guest fd; kErrnoMfile when the table is full.
  wasi::Errno fd_insert(wasi::FdEntry entry, uint32_t* fd_out);
  wasi::Errno fd_close(uint32_t fd);
  // Moves `from` onto `to` (closing what `to` held); both must be open.
  wasi::Errno fd_renumber(uint32_t from, uint32_t to);

  // How many guest fds may be open at once (stdio and preopens included).
  uint32_t max_fds() const { return max_fds_; }
  GuestAccount& account() { return *account_; }

  // Host fds kept out of every guest's reach, so the host's own opens
  // (/proc for sp_stats, model files, compiled modules) still succeed.
  static uint32_t host_fd_reserve(uint64_t soft_limit);

 private:
  WasiContext() = default;
  uint32_t max_fds_ = kDefaultOpenFds;
  std::unique_ptr<GuestAccount> own_account_;  // when create() was given none
  GuestAccount* account_ = nullptr;
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::vector<std::unique_ptr<wasi::FdEntry>> fds_;  // index = guest fd; null = free
};

}  // namespace samepage
