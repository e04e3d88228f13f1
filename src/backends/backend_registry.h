// Backends register themselves by name when their object file is linked in,
// so the set of backends is chosen at link time, not with #ifdefs.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "samepage/backend.h"

namespace samepage {

using BackendFactory = std::function<std::unique_ptr<Backend>()>;
bool register_backend(const std::string& name, BackendFactory factory);

}  // namespace samepage
