#include "api/host_api_imports.h"
#include "samepage/instance.h"
#include "wasi/wasi_imports.h"

namespace samepage {

const std::vector<HostImport>& host_imports() {
  static const std::vector<HostImport> all = [] {
    std::vector<HostImport> v = wasi_host_imports();
    const std::vector<HostImport>& api = samepage_host_imports();
    v.insert(v.end(), api.begin(), api.end());
    return v;
  }();
  return all;
}

}  // namespace samepage
