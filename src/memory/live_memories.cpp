#include "memory/live_memories.h"

#include <atomic>

#include "samepage/linear_memory.h"

namespace samepage {
namespace {

std::atomic<LinearMemory*> g_live[kMaxLiveMemories];

}  // namespace

bool live_memories_add(LinearMemory* memory) {
  for (auto& slot : g_live) {
    LinearMemory* empty = nullptr;
    if (slot.compare_exchange_strong(empty, memory)) return true;
  }
  return false;
}

void live_memories_remove(LinearMemory* memory) {
  for (auto& slot : g_live) {
    LinearMemory* expected = memory;
    if (slot.compare_exchange_strong(expected, nullptr)) return;
  }
}

LinearMemory* live_memory_containing(const void* host_address) {
  for (auto& slot : g_live) {
    LinearMemory* memory = slot.load(std::memory_order_acquire);
    if (memory != nullptr && memory->contains(host_address)) return memory;
  }
  return nullptr;
}

}  // namespace samepage
