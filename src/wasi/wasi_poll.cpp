// poll_oneoff: clock subscriptions become the poll timeout; fd_read/fd_write
// subscriptions on streams (stdio, pipes) go to ppoll(); regular files and
// directories are always ready, as poll(2) would say.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "wasi/wasi_call.h"
#include "wasi/wasi_errno.h"
#include "wasi/wasi_functions.h"
#include "wasi/wasi_stat.h"

namespace samepage::wasi {
namespace {

struct Subscription {
  uint64_t userdata = 0;
  uint8_t type = 0;
  // clock
  uint32_t clock_id = 0;
  uint64_t deadline_ns = 0;   // on clock_id's timeline
  // fd_read / fd_write
  uint32_t fd = 0;
  int pollfd_index = -1;      // into the ppoll array, or -1 when answered directly
};

struct Event {
  uint64_t userdata = 0;
  Errno error = kErrnoSuccess;
  uint8_t type = 0;
  uint64_t nbytes = 0;
  uint16_t flags = 0;
};

void store_event(uint8_t* out, const Event& e) {
  std::memset(out, 0, layout::kEventSize);
  std::memcpy(out + 0, &e.userdata, 8);
  std::memcpy(out + 8, &e.error, 2);
  out[10] = e.type;
  std::memcpy(out + 16, &e.nbytes, 8);
  std::memcpy(out + 24, &e.flags, 2);
}

// Bytes a read would return now, best effort (0 when unknown).
uint64_t readable_bytes(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    const off_t pos = ::lseek(fd, 0, SEEK_CUR);
    return pos >= 0 && st.st_size > pos ? static_cast<uint64_t>(st.st_size - pos) : 0;
  }
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? static_cast<uint64_t>(n) : 0;
}

Errno parse(const GuestMemory& memory, uint32_t in, uint32_t i, Subscription* s, Event* early,
            bool* answered) {
  const uint64_t base = uint64_t{in} + uint64_t{i} * layout::kSubscriptionSize;
  const uint8_t* p = memory.range(base, layout::kSubscriptionSize);
  if (p == nullptr) return kErrnoFault;
  std::memcpy(&s->userdata, p, 8);
  s->type = p[8];
  early->userdata = s->userdata;
  early->type = s->type;
  *answered = false;
  if (s->type == kEventtypeClock) {
    uint64_t timeout = 0;
    uint16_t flags = 0;
    std::memcpy(&s->clock_id, p + 16, 4);
    std::memcpy(&timeout, p + 24, 8);
    std::memcpy(&flags, p + 40, 2);
    uint64_t now = 0;
    if (Errno e = clock_now_ns(s->clock_id, &now)) {
      early->error = e;
      *answered = true;
      return kErrnoSuccess;
    }
    const bool absolute = flags & kSubclockflagAbstime;
    s->deadline_ns = absolute ? timeout
                              : (timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout);
    return kErrnoSuccess;
  }
  if (s->type == kEventtypeFdRead || s->type == kEventtypeFdWrite) {
    std::memcpy(&s->fd, p + 16, 4);
    return kErrnoSuccess;
  }
  return kErrnoInval;
}

// Nanoseconds until the earliest clock deadline; -1 when there is none.
int64_t ns_until_first_deadline(const std::vector<Subscription>& subs,
                                const std::vector<bool>& answered) {
  int64_t best = -1;
  for (size_t i = 0; i < subs.size(); ++i) {
    if (answered[i] || subs[i].type != kEventtypeClock) continue;
    uint64_t now = 0;
    if (clock_now_ns(subs[i].clock_id, &now) != kErrnoSuccess) continue;
    const uint64_t left = subs[i].deadline_ns > now ? subs[i].deadline_ns - now : 0;
    const int64_t clamped = static_cast<int64_t>(std::min<uint64_t>(left, INT64_MAX / 2));
    if (best < 0 || clamped < best) best = clamped;
  }
  return best;
}

// More subscriptions than this are refused: it covers every fd a guest may
// hold polled for reading and writing, plus clocks, and keeps the scratch
// below (about 100 bytes a subscription) small whatever count the guest gives.
constexpr uint32_t kMaxSubscriptions = 2 * kDefaultOpenFds + 64;

Errno poll_oneoff(Call& call, uint32_t in, uint32_t out, uint32_t n, uint32_t nevents_ptr) {
  if (n == 0) return kErrnoInval;  // would block forever
  // Validate, then bound, then charge, and only then allocate.
  if (call.memory.range(in, uint64_t{n} * layout::kSubscriptionSize) == nullptr ||
      call.memory.writable_range(out, uint64_t{n} * layout::kEventSize) == nullptr ||
      call.memory.writable_range(nevents_ptr, 4) == nullptr) {
    return kErrnoFault;
  }
  if (n > kMaxSubscriptions) return kErrnoInval;
  const uint64_t scratch_bytes = uint64_t{n} * (sizeof(Subscription) + sizeof(Event) + sizeof(struct pollfd) + 1);
  BytesCharge charge(&call.wasi.account(), scratch_bytes);
  if (!charge.ok()) return kErrnoNomem;
  std::vector<Subscription> subs(n);
  std::vector<Event> events(n);
  std::vector<bool> answered(n, false);
  std::vector<struct pollfd> pollfds;
  pollfds.reserve(n);  // charged above
  bool any_answered = false;
  // Everything is read before anything is written: `in` and `out` may overlap.
  for (uint32_t i = 0; i < n; ++i) {
    bool done = false;
    if (Errno e = parse(call.memory, in, i, &subs[i], &events[i], &done)) return e;
    Subscription& s = subs[i];
    if (!done && s.type != kEventtypeClock) {
      const bool reading = s.type == kEventtypeFdRead;
      FdEntry* entry = call.wasi.fd_get(s.fd);
      if (entry == nullptr || !entry->has_rights(reading ? kRightFdRead : kRightFdWrite)) {
        events[i].error = kErrnoBadf;
        done = true;
      } else if (entry->filetype == kFiletypeRegularFile ||
                 entry->filetype == kFiletypeDirectory) {
        events[i].nbytes = reading ? readable_bytes(entry->host.get()) : 0;
        done = true;
      } else {
        s.pollfd_index = static_cast<int>(pollfds.size());
        pollfds.push_back({entry->host.get(), static_cast<short>(reading ? POLLIN : POLLOUT), 0});
      }
    }
    answered[i] = done;
    any_answered = any_answered || done;
  }

  bool any_event = any_answered;
  for (;;) {
    const int64_t wait_ns = any_event ? 0 : ns_until_first_deadline(subs, answered);
    struct timespec timeout = ns_to_timespec(wait_ns < 0 ? 0 : static_cast<uint64_t>(wait_ns));
    const int rc = ::ppoll(pollfds.data(), pollfds.size(), wait_ns < 0 ? nullptr : &timeout,
                           nullptr);
    if (rc < 0 && errno != EINTR) return last_errno();
    for (uint32_t i = 0; i < n; ++i) {
      Subscription& s = subs[i];
      if (answered[i]) continue;
      if (s.type == kEventtypeClock) {
        uint64_t now = 0;
        if (clock_now_ns(s.clock_id, &now) == kErrnoSuccess && now >= s.deadline_ns) {
          answered[i] = any_event = true;
        }
        continue;
      }
      const struct pollfd& p = pollfds[static_cast<size_t>(s.pollfd_index)];
      if (rc <= 0 || p.revents == 0) continue;
      answered[i] = any_event = true;
      if (p.revents & POLLNVAL) {
        events[i].error = kErrnoBadf;
      } else if ((p.revents & POLLERR) && !(p.revents & (POLLIN | POLLOUT))) {
        events[i].error = kErrnoIo;
      } else {
        if (p.revents & POLLHUP) events[i].flags |= kEventrwflagHangup;
        if (s.type == kEventtypeFdRead) events[i].nbytes = readable_bytes(p.fd);
      }
    }
    if (any_event) break;
  }

  uint32_t written = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (!answered[i]) continue;
    store_event(call.memory.writable_range(uint64_t{out} + uint64_t{written} * layout::kEventSize,
                                  layout::kEventSize),
                events[i]);
    ++written;
  }
  call.memory.store<uint32_t>(nevents_ptr, written);
  return kErrnoSuccess;
}

}  // namespace
}  // namespace samepage::wasi

using samepage::GuestContext;
using namespace samepage::wasi;

uint32_t Z_wasi_snapshot_preview1Z_poll_oneoff(GuestContext* ctx, uint32_t in, uint32_t out,
                                               uint32_t nsubscriptions, uint32_t nevents_ptr) {
  return guarded(ctx, [&](Call& call) {
    return samepage::wasi::poll_oneoff(call, in, out, nsubscriptions, nevents_ptr);
  });
}
