// A function the host offers to guests, for checking a module's imports
// before it is loaded. The C symbol itself follows wasm2c's mangling
// (Z_<module>Z_<field>) and takes the GuestContext* as its first argument.
// The engine is handed the list (EngineOptions::host_imports); the runtime
// assembles it from the parts that implement imports (host_imports()).
#pragma once

#include <string>

#include "samepage/module_info.h"

namespace samepage {

struct HostImport {
  std::string module;
  std::string field;
  FuncType type;
};

}  // namespace samepage
