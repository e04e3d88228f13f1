// libFuzzer entry for parse_module: any input must give a module or an error
// message, and whatever parses must survive check_runnable and describe_module.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "samepage/module_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = samepage::parse_module(data, size);
  if (!parsed.is_ok()) {
    if (parsed.message().empty()) std::abort();
    return 0;
  }
  const samepage::Status runnable = samepage::check_runnable(parsed.value());
  if (!runnable.is_ok() && runnable.message().empty()) std::abort();
  if (samepage::describe_module(parsed.value()).empty()) std::abort();
  return 0;
}
