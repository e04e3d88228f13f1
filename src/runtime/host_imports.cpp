#include "runtime/host_import.h"

namespace samepage {

const std::vector<HostImport>& all_host_imports() {
  static const std::vector<HostImport> all = [] {
    std::vector<HostImport> v = wasi_host_imports();
    return v;
  }();
  return all;
}

}  // namespace samepage
