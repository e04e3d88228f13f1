// A function the host offers to guests, for checking a module's imports
// before it is loaded. The C symbol itself follows wasm2c's mangling
// (Z_<module>Z_<field>) and takes the GuestContext* as its first argument.
#pragma once

#include <string>
#include <vector>

#include "samepage/module_info.h"

namespace samepage {

struct HostImport {
  std::string module;
  std::string field;
  FuncType type;
};

// Every host import samepage provides (WASI, the samepage tensor API, ...).
const std::vector<HostImport>& all_host_imports();

// The WASI preview1 functions this runtime implements, with their types.
const std::vector<HostImport>& wasi_host_imports();
// The "samepage" tensor API (guest-sdk/include/samepage.h).
const std::vector<HostImport>& samepage_host_imports();

}  // namespace samepage
