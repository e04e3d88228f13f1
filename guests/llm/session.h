// A conversation's state as a safetensors file (--save-session /
// --load-session): the token history, the filled rows of every layer's K and
// V cache in the cache's own dtype (lossless), the sampler's RNG state and
// repetition window, and for chat the messages. The metadata names the model
// (architecture, shapes, vocabulary, a SHA-256 of its file) so that a session
// is never restored into another model or another KV dtype. A file is
// untrusted: read_session checks everything before the model is touched.
//
// Tensors: "tokens" I32 (n_tokens), "sampler.window" I32 (w),
//          "layers.{i}.k" / "layers.{i}.v" F16|F32 (n_past, n_kv_heads, head_dim),
//          "chat.messages" U8 (bytes; chat only: per message u32 role length,
//          role, u32 content length, content, little-endian).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chat_template.h"
#include "safetensors.h"
#include "status.h"

namespace llm {

constexpr const char* kSessionFormat = "samepage.llm.session";
constexpr uint32_t kSessionVersion = 1;

// What a session must match: the model, its file and the run's cache.
struct SessionIdentity {
  std::string arch;
  uint32_t n_layers = 0, dim = 0, ffn_dim = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, vocab_size = 0;
  std::string model_hash_scope;  // "header" (GGUF header + tensor infos) or "file" (every byte)
  std::string model_sha256;      // hex, of that scope
  bool kv_f16 = true;            // the cache's dtype: F16, else F32
  uint32_t n_ctx = 0;            // this run's context: n_past must fit
};

struct SessionState {
  std::vector<int32_t> tokens;  // the history; tokens [0, n_past) are in the KV cache, the rest wait to be run
  uint32_t n_past = 0;
  uint64_t rng_state = 0;       // the sampler's PRNG
  std::vector<int32_t> window;  // the repetition penalty's window, oldest first
  bool has_chat = false;
  std::vector<ChatMessage> messages;  // chat only
};

// A session file laid out, KV tensors zeroed: the caller fills k[l] and v[l]
// ((n_past, n_kv_heads, head_dim) each, in the cache dtype; 8-byte aligned
// when bytes is) and writes bytes out.
struct SessionFile {
  std::vector<uint8_t> bytes;
  std::vector<uint8_t*> k, v;  // (n_layers) pointers into bytes
};
SessionFile build_session(const SessionIdentity& id, const SessionState& state, const std::string& mode);

// A session read and checked against id: state, and the KV rows as pointers
// into the caller's bytes (no copy).
struct SessionView {
  SessionState state;
  std::vector<const uint8_t*> k, v;  // (n_layers)
};
Result<SessionView> read_session(const uint8_t* bytes, size_t n_bytes, const SessionIdentity& id);
// The same over a file already parsed (its tensors point into the caller's bytes).
Result<SessionView> read_session(const SafetensorsFile& file, const SessionIdentity& id);

// The "model_hash_scope" a file was saved with (so the loader hashes the same
// bytes), or an error when the file is not a session.
Result<std::string> session_hash_scope(const uint8_t* bytes, size_t n_bytes);
Result<std::string> session_hash_scope(const SafetensorsFile& file);

}  // namespace llm
