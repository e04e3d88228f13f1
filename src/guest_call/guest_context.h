// The per-instance state that host imports receive. wasm2c passes one
// "import module instance" pointer per imported module to every import
// call; samepage passes the same GuestContext* for all of them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <wasm-rt.h>

#include "guest_call/guest_memory.h"
#include "samepage/status.h"

namespace samepage {

class WasiContext;
class HostApi;

struct GuestContext {
  wasm_rt_memory_t* memory = nullptr;  // the instance's linear memory, set at instantiation
  const LinearMemory* linear = nullptr;  // the same memory's owner: read-only pages
  WasiContext* wasi = nullptr;         // owned by the Instance
  HostApi* api = nullptr;              // the samepage tensor API; owned by the Instance
  // The host fd behind a guest fd that names an open regular file the guest
  // may read (set by the runtime from WASI), so the host API can map model
  // files without depending on WASI; the fd stays WASI's. Unset: no files.
  std::function<Result<int>(uint32_t guest_fd)> readable_file;
  // Where a guest fd's file was opened: the preopen's guest path and the
  // path beneath it, as the guest named them (false: unknown). Snapshots
  // record mapped files this way and reopen them through the new preopens.
  std::function<bool(uint32_t guest_fd, std::string* preopen, std::string* path)> file_origin;

  GuestMemory guest_memory() const { return GuestMemory(memory, linear); }
};

}  // namespace samepage
