// Shared plumbing for the WASI host functions: the exception barrier, fd
// lookup with rights, and iovec gathering from guest memory.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <new>
#include <vector>

#include "guest_call/guest_context.h"
#include "guest_call/host_call_gate.h"
#include "wasi/wasi_abi.h"
#include "wasi/wasi_context.h"

namespace samepage::wasi {

// What a host function body works with.
struct Call {
  WasiContext& wasi;
  GuestMemory memory;
};

// Runs `body(Call&)` behind the host call gate (guest_call/host_call_gate.h):
// every WASI entry point comes through here, or opens the gate itself. No
// C++ exception may unwind into wasm2c's C frames, so every one ends here as
// an errno. A context without memory or WASI state is an embedder bug; the
// guest sees ENOSYS rather than a crash.
template <typename Body>
uint32_t guarded(GuestContext* ctx, Body&& body) noexcept {
  return host_call([&]() noexcept -> uint32_t {
    if (ctx == nullptr || ctx->memory == nullptr || ctx->wasi == nullptr) return kErrnoNosys;
    try {
      Call call{*ctx->wasi, ctx->guest_memory()};
      return body(call);
    } catch (const std::bad_alloc&) {
      return kErrnoNomem;
    } catch (...) {
      return kErrnoIo;
    }
  });
}

// The open entry behind `fd` holding `rights`: kErrnoBadf when not open or a
// right is missing (what POSIX code expects, e.g. write() on an O_RDONLY fd).
Errno fd_lookup(Call& call, uint32_t fd, uint64_t rights, FdEntry** out);

// The directory entry behind `fd` for a path operation needing `rights`:
// kErrnoBadf when not open, kErrnoNotdir when not a directory, kErrnoNotcapable
// when a right is missing (e.g. any change under a read-only preopen).
Errno dir_lookup(Call& call, uint32_t fd, uint64_t rights, FdEntry** out);

// Host iovecs for a guest iovec array, each buffer bounds-checked. At most
// IOV_MAX are taken; the rest would be a short read/write anyway.
Errno gather_iovecs(const GuestMemory& memory, uint32_t iovs, uint32_t iovs_len,
                    std::vector<struct iovec>* out);

// A readable/searchable host fd for an entry whose own fd may be O_PATH
// (preopens): the fd itself, or `scratch` reopened as "." with `flags`.
Errno usable_fd(const FdEntry& entry, int flags, UniqueFd* scratch, int* fd_out);

// Current time of a WASI clock in ns; kErrnoInval for an unknown clock id.
Errno clock_now_ns(uint32_t clock_id, uint64_t* out);

}  // namespace samepage::wasi
