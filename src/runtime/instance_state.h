// What an Instance owns besides the module: shared by instance.cpp and the
// snapshot code (instance_snapshot.cpp, instance_restore.cpp).
#pragma once

#include <memory>

#include <wasm-rt.h>

#include "api/host_api.h"
#include "guest_call/guest_context.h"
#include "samepage/guest_account.h"
#include "samepage/instance.h"
#include "wasi/wasi_context.h"

namespace samepage {

// Holds one place among the live instances for as long as it lives.
struct LiveInstance {
  bool held = false;
  ~LiveInstance();  // instance.cpp: gives the place back
};

struct Instance::State {
  LiveInstance live;                // released last: the instance is gone
  std::shared_ptr<GuestAccount> account;  // what this guest makes the host spend
  GuestContext context;
  std::unique_ptr<WasiContext> wasi;
  std::unique_ptr<HostApi> api;
  void* instance_struct = nullptr;  // wasm2c's instance struct, instance_bytes() long
  bool instantiated = false;
  wasm_rt_memory_t no_memory{};     // stands in when the module defines no memory
};

}  // namespace samepage
