// libFuzzer entry for the LLM guest's GGUF reader: any input must parse or
// give a "[gguf]" message, and whatever parses must be readable end to end.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = llm::GgufFile::parse(data, size);
  if (!parsed.is_ok()) {
    if (parsed.message().rfind("[gguf] ", 0) != 0) std::abort();
    return 0;
  }
  const llm::GgufFile& file = parsed.value();
  uint64_t sum = 0;  // touch every view so ASan checks it lies inside the input
  for (std::string_view key : file.keys()) {
    const llm::GgufValue* v = file.find(key);
    if (v == nullptr) std::abort();
    for (uint64_t i = 0; i < v->string_offsets.size(); ++i) sum += v->string_at(i).size();
    if (v->n_payload_bytes > 0) sum += v->payload[v->n_payload_bytes - 1];
  }
  for (const llm::GgufTensor& t : file.tensors()) {
    if (file.find_tensor(t.name) != &t) std::abort();
    if (t.n_bytes > 0) sum += t.data[0] + t.data[t.n_bytes - 1];
  }
  return static_cast<int>(sum & 0);
}
