// Connects wasm2c's memory hooks to LinearMemory. wasm_rt_allocate_memory
// receives only the memory struct, so the instance being built is announced
// beforehand through a MemoryScope on the instantiating thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <wasm-rt.h>

#include "samepage/linear_memory.h"

namespace samepage {

struct MemoryScope {
  MemoryOptions options;
  LinearMemory* allocated = nullptr;  // set by wasm_rt_allocate_memory
  wasm_rt_memory_t* memory_struct = nullptr;  // the struct it filled in
  std::string error;                  // why allocation failed, if it did
  // Runs as soon as the memory exists, before data segments or a start
  // function: host imports called from the start function see it too.
  std::function<void(LinearMemory*, wasm_rt_memory_t*)> on_allocate;
};

// Announces the instance about to be instantiated on this thread.
void memory_scope_enter(MemoryScope* scope);
void memory_scope_leave();

// The LinearMemory behind a wasm2c memory struct, or nullptr.
LinearMemory* linear_memory_of(const wasm_rt_memory_t* memory);

}  // namespace samepage
