// args, environ, clocks, randomness, process control, and the socket calls
// this runtime does not offer.
#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "wasi/wasi_call.h"
#include "wasi/wasi_errno.h"
#include "wasi/wasi_functions.h"
#include "wasi/wasi_stat.h"

namespace samepage::wasi {
namespace {

// argv/environ layout: `ptrs` receives one u32 guest pointer per string,
// `buf` the strings back to back, each NUL-terminated.
Errno store_string_list(const GuestMemory& memory, const std::vector<std::string>& list,
                        uint32_t ptrs, uint32_t buf) {
  uint64_t total = 0;
  for (const std::string& s : list) total += s.size() + 1;
  if (memory.writable_range(ptrs, uint64_t{list.size()} * 4) == nullptr) return kErrnoFault;
  uint8_t* out = memory.writable_range(buf, total);
  if (out == nullptr) return kErrnoFault;
  uint64_t offset = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    memory.store<uint32_t>(uint64_t{ptrs} + i * 4, static_cast<uint32_t>(buf + offset));
    std::memcpy(out + offset, list[i].c_str(), list[i].size() + 1);
    offset += list[i].size() + 1;
  }
  return kErrnoSuccess;
}

Errno store_list_sizes(const GuestMemory& memory, const std::vector<std::string>& list,
                       uint32_t count_ptr, uint32_t size_ptr) {
  uint64_t total = 0;
  for (const std::string& s : list) total += s.size() + 1;  // fits: checked at create()
  if (memory.writable_range(count_ptr, 4) == nullptr || memory.writable_range(size_ptr, 4) == nullptr) {
    return kErrnoFault;
  }
  memory.store<uint32_t>(count_ptr, static_cast<uint32_t>(list.size()));
  memory.store<uint32_t>(size_ptr, static_cast<uint32_t>(total));
  return kErrnoSuccess;
}

bool host_clock(uint32_t clock_id, clockid_t* out) {
  switch (clock_id) {
    case kClockRealtime: *out = CLOCK_REALTIME; return true;
    case kClockMonotonic: *out = CLOCK_MONOTONIC; return true;
    case kClockProcessCputime: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
    case kClockThreadCputime: *out = CLOCK_THREAD_CPUTIME_ID; return true;
    default: return false;
  }
}

}  // namespace

Errno clock_now_ns(uint32_t clock_id, uint64_t* out) {
  clockid_t host = 0;
  if (!host_clock(clock_id, &host)) return kErrnoInval;
  struct timespec ts {};
  if (::clock_gettime(host, &ts) != 0) return last_errno();
  *out = timespec_to_ns(ts);
  return kErrnoSuccess;
}

}  // namespace samepage::wasi

using samepage::GuestContext;
using namespace samepage::wasi;

uint32_t Z_wasi_snapshot_preview1Z_args_get(GuestContext* ctx, uint32_t argv, uint32_t argv_buf) {
  return guarded(ctx, [&](Call& call) {
    return store_string_list(call.memory, call.wasi.args(), argv, argv_buf);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(GuestContext* ctx, uint32_t argc_ptr,
                                                  uint32_t argv_buf_size_ptr) {
  return guarded(ctx, [&](Call& call) {
    return store_list_sizes(call.memory, call.wasi.args(), argc_ptr, argv_buf_size_ptr);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_environ_get(GuestContext* ctx, uint32_t environ_ptrs,
                                               uint32_t environ_buf) {
  return guarded(ctx, [&](Call& call) {
    return store_string_list(call.memory, call.wasi.env(), environ_ptrs, environ_buf);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(GuestContext* ctx, uint32_t count_ptr,
                                                     uint32_t buf_size_ptr) {
  return guarded(ctx, [&](Call& call) {
    return store_list_sizes(call.memory, call.wasi.env(), count_ptr, buf_size_ptr);
  });
}

uint32_t Z_wasi_snapshot_preview1Z_clock_res_get(GuestContext* ctx, uint32_t clock_id,
                                                 uint32_t resolution_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    clockid_t host = 0;
    if (!host_clock(clock_id, &host)) return kErrnoInval;
    struct timespec ts {};
    if (::clock_getres(host, &ts) != 0) return last_errno();
    return call.memory.store<uint64_t>(resolution_ptr, timespec_to_ns(ts)) ? kErrnoSuccess
                                                                           : kErrnoFault;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(GuestContext* ctx, uint32_t clock_id,
                                                  uint64_t /*precision: best effort*/,
                                                  uint32_t time_ptr) {
  return guarded(ctx, [&](Call& call) -> Errno {
    uint64_t now = 0;
    if (Errno e = clock_now_ns(clock_id, &now)) return e;
    return call.memory.store<uint64_t>(time_ptr, now) ? kErrnoSuccess : kErrnoFault;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_random_get(GuestContext* ctx, uint32_t buf, uint32_t buf_len) {
  return guarded(ctx, [&](Call& call) -> Errno {
    uint8_t* out = call.memory.writable_range(buf, buf_len);
    if (out == nullptr) return kErrnoFault;
    size_t done = 0;
    while (done < buf_len) {  // getrandom returns at most 32 MiB - 1 per call
      const ssize_t n = ::getrandom(out + done, buf_len - done, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_errno();
      }
      done += static_cast<size_t>(n);
    }
    return kErrnoSuccess;
  });
}

// The exit is asked for inside the gate and performed by host_gate_leave,
// in this frame, which holds no object: the unwind crosses no host code.
void Z_wasi_snapshot_preview1Z_proc_exit(GuestContext* /*ctx*/, uint32_t exit_code) {
  samepage::host_gate_enter();
  samepage::guest_request_exit(exit_code);
  samepage::host_gate_leave();
  abort();  // unreachable on a guest thread; off one, guest_request_exit has aborted
}

// Signals would reach the host process; preview1 dropped proc_raise later on.
uint32_t Z_wasi_snapshot_preview1Z_proc_raise(GuestContext* /*ctx*/, uint32_t /*sig*/) {
  return samepage::host_call([] { return kErrnoNosys; });
}

uint32_t Z_wasi_snapshot_preview1Z_sched_yield(GuestContext* /*ctx*/) {
  return samepage::host_call([] {
    ::sched_yield();
    return kErrnoSuccess;
  });
}

// Sockets: samepage hands guests no sockets (sock_accept would need a
// preopened listener), so every open fd is not a socket: ENOTSOCK, as the
// preview1 test suite expects; an fd that is not open stays EBADF.
uint32_t Z_wasi_snapshot_preview1Z_sock_accept(GuestContext* ctx, uint32_t fd, uint32_t /*fdflags*/,
                                               uint32_t /*fd_ptr*/) {
  return guarded(ctx, [&](Call& call) {
    return call.wasi.fd_get(fd) == nullptr ? kErrnoBadf : kErrnoNotsock;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_sock_recv(GuestContext* ctx, uint32_t fd, uint32_t /*ri_data*/,
                                             uint32_t /*ri_data_len*/, uint32_t /*ri_flags*/,
                                             uint32_t /*ro_datalen_ptr*/,
                                             uint32_t /*ro_flags_ptr*/) {
  return guarded(ctx, [&](Call& call) {
    return call.wasi.fd_get(fd) == nullptr ? kErrnoBadf : kErrnoNotsock;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_sock_send(GuestContext* ctx, uint32_t fd, uint32_t /*si_data*/,
                                             uint32_t /*si_data_len*/, uint32_t /*si_flags*/,
                                             uint32_t /*so_datalen_ptr*/) {
  return guarded(ctx, [&](Call& call) {
    return call.wasi.fd_get(fd) == nullptr ? kErrnoBadf : kErrnoNotsock;
  });
}

uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(GuestContext* ctx, uint32_t fd, uint32_t /*how*/) {
  return guarded(ctx, [&](Call& call) {
    return call.wasi.fd_get(fd) == nullptr ? kErrnoBadf : kErrnoNotsock;
  });
}
