#include "memory/file_view.h"

#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "samepage/linear_memory.h"

namespace samepage {
namespace {

// A fixed table the SIGBUS handler can scan without a lock or an allocation
// (like live_memories.cpp). A slot keeps its view's mapped range and whether
// a fault found the file shorter.
struct ViewSlot {
  std::atomic<bool> taken{false};
  std::atomic<uintptr_t> lo{0}, hi{0};  // hi == 0: no range (free or being filled)
  std::atomic<bool> shrank{false};
};
ViewSlot g_views[kMaxFileViews];

int take_slot() {
  for (size_t i = 0; i < kMaxFileViews; ++i) {
    bool free = false;
    if (g_views[i].taken.compare_exchange_strong(free, true)) {
      g_views[i].shrank.store(false, std::memory_order_relaxed);
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

Result<FileView> FileView::map(int fd, uint64_t n_bytes, const char* where) {
  FileView view;
  if (n_bytes == 0) return view;  // mmap refuses an empty length, and there is nothing to read
  const uint64_t page = host_page_bytes();
  if (n_bytes > SIZE_MAX - page) return err(where, "the file is too large to map");
  const uint64_t n_mapped = (n_bytes + page - 1) / page * page;
  const int slot = take_slot();
  if (slot < 0) return err(where, "more than " + std::to_string(kMaxFileViews) + " files are mapped to be read at once");
  void* at = mmap(nullptr, n_mapped, PROT_READ, MAP_PRIVATE, fd, 0);
  if (at == MAP_FAILED) {
    const int map_errno = errno;
    g_views[slot].taken.store(false, std::memory_order_release);
    return err(where, std::string("cannot map the file: ") + std::strerror(map_errno));
  }
  // Published before anyone reads the bytes: the first read may already fault.
  g_views[slot].lo.store(reinterpret_cast<uintptr_t>(at), std::memory_order_relaxed);
  g_views[slot].hi.store(reinterpret_cast<uintptr_t>(at) + n_mapped, std::memory_order_release);
  view.data_ = static_cast<uint8_t*>(at);
  view.n_bytes_ = n_bytes;
  view.n_mapped_bytes_ = n_mapped;
  view.slot_ = slot;
  return view;
}

FileView::FileView(FileView&& other) noexcept
    : data_(other.data_), n_bytes_(other.n_bytes_), n_mapped_bytes_(other.n_mapped_bytes_), slot_(other.slot_) {
  other.data_ = nullptr;
  other.n_bytes_ = other.n_mapped_bytes_ = 0;
  other.slot_ = -1;
}

FileView::~FileView() {
  if (slot_ < 0) return;
  ViewSlot& slot = g_views[slot_];
  slot.hi.store(0, std::memory_order_release);  // the range goes first: no fault matches it once unmapped
  munmap(data_, n_mapped_bytes_);
  slot.taken.store(false, std::memory_order_release);
}

bool FileView::shrank() const { return slot_ >= 0 && g_views[slot_].shrank.load(std::memory_order_acquire); }

bool absorb_lost_view_page(const void* host_address) {
  const auto address = reinterpret_cast<uintptr_t>(host_address);
  for (ViewSlot& slot : g_views) {
    const uintptr_t hi = slot.hi.load(std::memory_order_acquire);
    if (hi == 0 || address >= hi || address < slot.lo.load(std::memory_order_relaxed)) continue;
    // Everything past a shrunk file's end faults alike: replace it all at once,
    // still read-only. Only the view's own reader faults here, so it is alive.
    const uintptr_t from = address & ~(uintptr_t{host_page_bytes()} - 1);
    if (mmap(reinterpret_cast<void*>(from), hi - from, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
             -1, 0) == MAP_FAILED)
      return false;
    slot.shrank.store(true, std::memory_order_release);
    return true;
  }
  return false;
}

}  // namespace samepage
