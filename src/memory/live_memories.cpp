#include "memory/live_memories.h"

#include <atomic>
#include <cstdint>

#include "samepage/linear_memory.h"

namespace samepage {
namespace {

// A slot keeps its memory's reservation [lo, hi) beside the pointer, so the
// signal handler compares addresses without touching a LinearMemory another
// thread may be destroying; it dereferences only the one that holds the fault.
struct LiveSlot {
  std::atomic<LinearMemory*> memory{nullptr};
  std::atomic<uintptr_t> lo{0}, hi{0};  // hi == 0: no range (free or being filled)
};
LiveSlot g_live[kMaxLiveMemories];

}  // namespace

bool live_memories_add(LinearMemory* memory) {
  for (LiveSlot& slot : g_live) {
    LinearMemory* empty = nullptr;
    if (!slot.memory.compare_exchange_strong(empty, memory)) continue;
    slot.lo.store(reinterpret_cast<uintptr_t>(memory->base()), std::memory_order_relaxed);
    slot.hi.store(reinterpret_cast<uintptr_t>(memory->base()) + memory->reserved_bytes(), std::memory_order_release);
    return true;
  }
  return false;
}

void live_memories_remove(LinearMemory* memory) {
  for (LiveSlot& slot : g_live) {
    if (slot.memory.load(std::memory_order_relaxed) != memory) continue;
    slot.hi.store(0, std::memory_order_release);  // the range goes first: no new lookup matches it
    slot.memory.store(nullptr, std::memory_order_release);
    return;
  }
}

LinearMemory* live_memory_containing(const void* host_address) {
  const auto address = reinterpret_cast<uintptr_t>(host_address);
  for (LiveSlot& slot : g_live) {
    const uintptr_t hi = slot.hi.load(std::memory_order_acquire);
    if (hi == 0 || address >= hi || address < slot.lo.load(std::memory_order_relaxed)) continue;
    return slot.memory.load(std::memory_order_acquire);
  }
  return nullptr;
}

}  // namespace samepage
