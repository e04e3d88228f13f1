// The "samepage" tensor API imports (guest-sdk/include/samepage.h), with their types.
#pragma once

#include <vector>

#include "samepage/host_import.h"

namespace samepage {

const std::vector<HostImport>& samepage_host_imports();

}  // namespace samepage
