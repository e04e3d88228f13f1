// Every LinearMemory alive in the process, in a fixed table a signal handler
// can scan: a SIGBUS on a pool worker thread must find the guest memory it
// hit without a lock or an allocation.
#pragma once

#include <cstddef>

namespace samepage {

class LinearMemory;

// More than the 1024 live instances a process allows (GuestAccount), so the
// table only fills when something leaks.
constexpr size_t kMaxLiveMemories = 4096;

// False when the table is full.
bool live_memories_add(LinearMemory* memory);
void live_memories_remove(LinearMemory* memory);
// The live memory whose reservation holds host_address, or nullptr.
// Async-signal-safe.
LinearMemory* live_memory_containing(const void* host_address);

}  // namespace samepage
