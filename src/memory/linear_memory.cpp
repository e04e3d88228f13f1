#include "memory/live_memories.h"
#include "memory/map_count.h"
#include "samepage/linear_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace samepage {

uint64_t host_page_bytes() {
  static const uint64_t bytes = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return bytes;
}

namespace {

bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace

Result<std::unique_ptr<LinearMemory>> LinearMemory::create(uint32_t initial_pages,
                                                           uint32_t max_pages,
                                                           const MemoryOptions& options) {
  const char* where = "memory::create";
  if (max_pages > kMaxWasmPages) max_pages = kMaxWasmPages;
  if (initial_pages > max_pages)
    return err(where, "initial size of " + std::to_string(initial_pages) +
                          " pages exceeds the maximum of " + std::to_string(max_pages) + " pages");
  if (!is_power_of_two(options.alignment_bytes) || options.alignment_bytes < host_page_bytes())
    return err(where, "alignment must be a power of two of at least the host page size, got " +
                          std::to_string(options.alignment_bytes));
  if (options.guard_bytes <= kGuestAddressSpaceBytes)
    return err(where, "guard must be more than 4 GiB: generated code relies on it for bounds");

  std::unique_ptr<LinearMemory> memory(new LinearMemory());
  memory->reserved_bytes_ = kGuestAddressSpaceBytes + options.guard_bytes;
  // Over-reserve by the alignment, then trim both ends so the base is aligned.
  const uint64_t over_bytes = memory->reserved_bytes_ + options.alignment_bytes;
  void* raw = mmap(nullptr, over_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED)
    return err(where, std::string("reserving guest address space failed: ") + strerror(errno));
  const auto raw_addr = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (raw_addr + options.alignment_bytes - 1) & ~(options.alignment_bytes - 1);
  const uint64_t head = aligned - raw_addr;
  const uint64_t tail = over_bytes - head - memory->reserved_bytes_;
  if (head > 0) munmap(raw, head);
  if (tail > 0) munmap(reinterpret_cast<uint8_t*>(aligned) + memory->reserved_bytes_, tail);
  memory->base_ = reinterpret_cast<uint8_t*>(aligned);
  memory->max_pages_ = max_pages;
  if (!live_memories_add(memory.get()))
    return err(where, "the process already holds " + std::to_string(kMaxLiveMemories) + " guest memories");
  if (initial_pages > 0 && memory->grow(initial_pages) == kGrowFailed)
    return err(where, "committing " + std::to_string(initial_pages) + " initial pages failed");
  return memory;
}

LinearMemory::~LinearMemory() {
  live_memories_remove(this);  // before the pages go: the fault handler scans live memories
  if (base_ != nullptr) notify({MemoryEventKind::MemoryEvent_release, 0, reserved_bytes_});
  forget_runs();
  g_process_read_only_ranges.fetch_sub(file_mappings_.size());  // they go with the reservation
  if (base_ != nullptr) munmap(base_, reserved_bytes_);
}

bool LinearMemory::contains(const void* host_address) const {
  const auto* p = static_cast<const uint8_t*>(host_address);
  return p >= base_ && p < base_ + reserved_bytes_;
}

uint32_t LinearMemory::grow(uint32_t delta_pages) {
  const uint32_t old_pages = pages_;
  if (delta_pages > max_pages_ - pages_) return kGrowFailed;
  if (delta_pages == 0) return old_pages;
  const uint64_t old_bytes = size_bytes();
  const uint64_t new_bytes = old_bytes + uint64_t{delta_pages} * kWasmPageBytes;
  // Anonymous pages read as zero until first written, so growth is zero-filled.
  if (mprotect(base_ + old_bytes, new_bytes - old_bytes, PROT_READ | PROT_WRITE) != 0)
    return kGrowFailed;
  pages_ += delta_pages;
  notify({MemoryEventKind::MemoryEvent_grow, old_bytes, new_bytes - old_bytes});
  return old_pages;
}

size_t LinearMemory::add_event_listener(EventListener listener) {
  listeners_.emplace_back(next_listener_, std::move(listener));
  return next_listener_++;
}

void LinearMemory::remove_event_listener(size_t id) {
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it)
    if (it->first == id) {
      listeners_.erase(it);
      return;
    }
}

const char* memory_event_name(MemoryEventKind kind) {
  switch (kind) {
    case MemoryEventKind::MemoryEvent_grow: return "grow";
    case MemoryEventKind::MemoryEvent_file_map: return "file_map";
    case MemoryEventKind::MemoryEvent_file_unmap: return "file_unmap";
    case MemoryEventKind::MemoryEvent_protect: return "protect";
    case MemoryEventKind::MemoryEvent_unprotect: return "unprotect";
    case MemoryEventKind::MemoryEvent_release: return "release";
  }
  return "?";
}

}  // namespace samepage
