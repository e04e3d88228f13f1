// Calling a wasm2c export with integer arguments through its C signature.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/loaded_module.h"
#include "samepage/status.h"

namespace samepage {

struct ExportCall {
  void (*fn)(void) = nullptr;
  void* instance_struct = nullptr;
  uint64_t args[8] = {};
  int n_args = 0;
  bool returns_value = false;
  bool result_is_i32 = false;
  uint64_t result = 0;
};

// Accepts exports whose parameters (at most 8) and single optional result are
// i32 or i64; anything else is refused with the signature in the message.
Status prepare_export_call(const GlueExport& fn, void* instance_struct, const std::vector<uint64_t>& args,
                           ExportCall* out);

// GuardedCall body: performs an ExportCall.
void invoke_export(void* export_call);

}  // namespace samepage
