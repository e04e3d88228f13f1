// libFuzzer entry for the module pipeline: rewrite → wasm2c → glue. The
// first input byte picks the mode: even, the rest shapes a module with
// hostile names (module_pipeline_check.h), mutated when the byte is 2 mod 4;
// odd, the rest is a module as is. Aborts when a module-supplied name
// reaches generated C outside an escaped literal, or the rewrite keeps a
// custom section or changes more than export names.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "module_pipeline_check.h"

namespace {

const std::string& work_dir() {
  static const std::string dir = [] {
    std::string tmpl = "/tmp/samepage-pipeline-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    return tmpl;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace samepage::pipeline_check;
  if (size == 0) return 0;
  Bytes wasm;
  if (data[0] % 2 == 0) {
    ByteSource src(data + 1, size - 1);
    wasm = build_hostile_module(src);
    if (data[0] % 4 == 2) mutate(wasm, src);
  } else {
    wasm.assign(data + 1, data + size);
  }
  const char* wasm2c = std::getenv("SAMEPAGE_WASM2C");
  const CheckResult result = check_module(wasm, work_dir(), wasm2c != nullptr ? wasm2c : "wasm2c");
  if (!result.leak.empty()) {
    std::fprintf(stderr, "module pipeline leak: %s\n", result.leak.c_str());
    std::abort();
  }
  return 0;
}
