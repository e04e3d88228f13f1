// The per-instance state that host imports receive. wasm2c passes one
// "import module instance" pointer per imported module to every import
// call; samepage passes the same GuestContext* for all of them.
#pragma once

#include <cstdint>

#include <wasm-rt.h>

#include "guest_call/guest_memory.h"

namespace samepage {

class WasiContext;
class HostApi;

struct GuestContext {
  wasm_rt_memory_t* memory = nullptr;  // the instance's linear memory, set at instantiation
  const LinearMemory* linear = nullptr;  // the same memory's owner: read-only pages
  WasiContext* wasi = nullptr;         // owned by the Instance
  HostApi* api = nullptr;              // the samepage tensor API; owned by the Instance

  GuestMemory guest_memory() const { return GuestMemory(memory, linear); }
};

}  // namespace samepage
