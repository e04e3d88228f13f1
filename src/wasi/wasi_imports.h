// The WASI preview1 functions this runtime implements, with their types.
#pragma once

#include <vector>

#include "samepage/host_import.h"

namespace samepage {

const std::vector<HostImport>& wasi_host_imports();

}  // namespace samepage
