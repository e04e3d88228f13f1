// libFuzzer target for session files (guests/llm/session.h): arbitrary bytes
// through the safetensors reader and every session check, and, so that the
// deep checks are reached without a corpus, a valid session with the input
// written over it (positions and bytes from the input): well-formed framing
// around hostile contents. A read must fail with a message or return state
// that passes its own bounds; it must never crash or read out of bounds
// (ASan). Build and run: see CMakeLists.txt.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "safetensors.h"
#include "session.h"

namespace {

llm::SessionIdentity identity() {
  llm::SessionIdentity id;
  id.arch = "llama";
  id.n_layers = 2, id.dim = 8, id.ffn_dim = 16, id.n_heads = 2, id.n_kv_heads = 1, id.head_dim = 4;
  id.vocab_size = 100;
  id.model_hash_scope = "header";
  id.model_sha256 = std::string(64, 'a');
  id.kv_f16 = true;
  id.n_ctx = 16;
  return id;
}

const std::vector<uint8_t>& valid_session() {
  static const std::vector<uint8_t> bytes = [] {
    llm::SessionState st;
    st.tokens = {1, 2, 3, 4, 5};
    st.n_past = 4;
    st.rng_state = 42;
    st.window = {3, 4, 5};
    st.has_chat = true;
    st.messages = {{"user", "hi \"there\"\n"}, {"assistant", "hello"}};
    llm::SessionFile f = llm::build_session(identity(), st, "chat");
    for (uint8_t* p : f.k) std::memset(p, 0x3c, 4 * 4 * 2);
    for (uint8_t* p : f.v) std::memset(p, 0xbc, 4 * 4 * 2);
    return f.bytes;
  }();
  return bytes;
}

void check(const uint8_t* data, size_t n) {
  const llm::SessionIdentity id = identity();
  (void)llm::session_hash_scope(data, n);
  llm::Result<llm::SessionView> view = llm::read_session(data, n, id);
  if (!view.is_ok()) {
    if (view.message().empty()) std::abort();  // every refusal says why
    return;
  }
  const llm::SessionState& st = view.value().state;
  if (st.n_past > id.n_ctx || st.n_past > st.tokens.size() || view.value().k.size() != id.n_layers) std::abort();
  for (int32_t t : st.tokens)
    if (t < 0 || uint32_t(t) >= id.vocab_size) std::abort();
  // The rows the model would copy: touch every byte (ASan checks the bounds).
  const size_t row_bytes = size_t(id.n_kv_heads) * id.head_dim * 2;
  unsigned sum = 0;
  for (size_t l = 0; l < id.n_layers; ++l)
    for (size_t b = 0; b < st.n_past * row_bytes; ++b) sum += view.value().k[l][b] + view.value().v[l][b];
  if (sum == 0xffffffffu) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1) {
    // A copy so that ASan sees the exact bounds of the input.
    std::vector<uint8_t> raw(data + 1, data + size);
    check(raw.data(), raw.size());
    return 0;
  }
  // Tamper with a valid session: (u16 position, byte) pairs, then maybe a cut.
  std::vector<uint8_t> file = valid_session();
  size_t i = 1;
  for (; i + 3 <= size; i += 3) {
    const size_t at = (size_t(data[i]) | size_t(data[i + 1]) << 8) % file.size();
    file[at] = data[i + 2];
  }
  if (i < size && (data[i] & 1)) file.resize(file.size() * data[i] / 256);
  check(file.data(), file.size());
  return 0;
}
