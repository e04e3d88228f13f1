// Connects wasm2c's memory hooks to LinearMemory. wasm_rt_allocate_memory
// receives only the memory struct, so the instance being built is announced
// beforehand through a MemoryScope on the instantiating thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <wasm-rt.h>

#include "samepage/guest_account.h"
#include "samepage/linear_memory.h"

namespace samepage {

struct MemoryScope {
  MemoryOptions options;
  LinearMemory* allocated = nullptr;  // set by wasm_rt_allocate_memory
  wasm_rt_memory_t* memory_struct = nullptr;  // the struct it filled in
  std::string error;                  // why allocation failed, if it did
  // What the instance's tables are charged to; null gives each table an
  // account of its own with the default limits.
  std::shared_ptr<GuestAccount> account;
  // Runs as soon as the memory exists, before data segments or a start
  // function: host imports called from the start function see it too.
  std::function<void(LinearMemory*, wasm_rt_memory_t*)> on_allocate;
};

// Announces the instance about to be instantiated on this thread.
void memory_scope_enter(MemoryScope* scope);
void memory_scope_leave();
// The scope announced on this thread, or nullptr outside instantiation.
MemoryScope* memory_scope_current();

// The LinearMemory behind a wasm2c memory struct, or nullptr.
LinearMemory* linear_memory_of(const wasm_rt_memory_t* memory);

}  // namespace samepage
