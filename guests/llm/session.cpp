// Session files: the layout written, and every check made on reading, in
// the order that gives the most useful message first (not a session, another
// version, another model, another cache, then the contents).
#include "session.h"

#include <cstring>

#include "safetensors.h"

namespace llm {
namespace {

Status fail(const std::string& what) { return Status::error("[session] " + what); }

std::string layer_name(size_t layer, const char* which) { return "layers." + std::to_string(layer) + "." + which; }

bool to_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

void put_u32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(uint8_t(v >> (8 * i)));
}

std::vector<uint8_t> encode_messages(const std::vector<ChatMessage>& messages) {
  std::vector<uint8_t> out;
  for (const ChatMessage& m : messages)
    for (const std::string* s : {&m.role, &m.content}) {
      put_u32(&out, uint32_t(s->size()));
      out.insert(out.end(), s->begin(), s->end());
    }
  return out;
}

Status decode_messages(const uint8_t* p, uint64_t n, std::vector<ChatMessage>* out) {
  uint64_t at = 0;
  auto field = [&](std::string* s) -> bool {
    if (n - at < 4) return false;
    uint32_t len = 0;
    for (int i = 3; i >= 0; --i) len = (len << 8) | p[at + uint64_t(i)];
    at += 4;
    if (len > n - at) return false;
    s->assign(reinterpret_cast<const char*>(p + at), len);
    at += len;
    return true;
  };
  while (at < n) {
    ChatMessage m;
    if (!field(&m.role) || !field(&m.content)) return fail("chat.messages is truncated or has a bad length");
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      return fail("chat.messages has an unknown role '" + m.role.substr(0, 32) + "'");
    out->push_back(std::move(m));
  }
  return Status::ok();
}

// An I32 vector tensor, each value in [0, vocab).
Status read_ids(const SafetensorsFile& f, const char* name, uint32_t vocab, std::vector<int32_t>* out) {
  const StTensor* t = f.find(name);
  if (t == nullptr) return fail("the file has no '" + std::string(name) + "' tensor");
  if (t->dtype != StDtype::St_i32 || t->shape.size() != 1)
    return fail("'" + std::string(name) + "' must be a 1-d I32 tensor");
  out->resize(t->shape[0]);
  if (!out->empty()) std::memcpy(out->data(), t->data, out->size() * 4);
  for (int32_t id : *out)
    if (id < 0 || uint32_t(id) >= vocab)
      return fail("'" + std::string(name) + "' holds token id " + std::to_string(id) + ", outside the vocabulary of " +
                  std::to_string(vocab));
  return Status::ok();
}

}  // namespace

SessionFile build_session(const SessionIdentity& id, const SessionState& state, const std::string& mode) {
  SafetensorsWriter w;
  w.add_metadata("format", kSessionFormat);
  w.add_metadata("version", std::to_string(kSessionVersion));
  w.add_metadata("mode", mode);
  w.add_metadata("architecture", id.arch);
  const std::pair<const char*, uint32_t> shape[] = {{"n_layers", id.n_layers},     {"dim", id.dim},
                                                    {"ffn_dim", id.ffn_dim},       {"n_heads", id.n_heads},
                                                    {"n_kv_heads", id.n_kv_heads}, {"head_dim", id.head_dim},
                                                    {"vocab_size", id.vocab_size}};
  for (const auto& [key, value] : shape) w.add_metadata(key, std::to_string(value));
  w.add_metadata("model_hash_scope", id.model_hash_scope);
  w.add_metadata("model_sha256", id.model_sha256);
  w.add_metadata("kv_dtype", id.kv_f16 ? "F16" : "F32");
  w.add_metadata("n_ctx", std::to_string(id.n_ctx));
  w.add_metadata("n_past", std::to_string(state.n_past));
  w.add_metadata("rng_state", std::to_string(state.rng_state));
  // Ids first (4-byte elements), then the caches, then the bytes: every tensor aligned.
  const size_t tokens = w.add_tensor("tokens", StDtype::St_i32, {state.tokens.size()});
  const size_t window = w.add_tensor("sampler.window", StDtype::St_i32, {state.window.size()});
  const StDtype kv = id.kv_f16 ? StDtype::St_f16 : StDtype::St_f32;
  std::vector<size_t> k(id.n_layers), v(id.n_layers);
  for (uint32_t l = 0; l < id.n_layers; ++l) {
    k[l] = w.add_tensor(layer_name(l, "k"), kv, {state.n_past, id.n_kv_heads, id.head_dim});
    v[l] = w.add_tensor(layer_name(l, "v"), kv, {state.n_past, id.n_kv_heads, id.head_dim});
  }
  std::vector<uint8_t> chat;
  size_t chat_index = 0;
  if (state.has_chat) {
    chat = encode_messages(state.messages);
    chat_index = w.add_tensor("chat.messages", StDtype::St_u8, {chat.size()});
  }
  SessionFile out;
  out.bytes = w.finish();
  if (!state.tokens.empty()) std::memcpy(w.data_of(out.bytes, tokens), state.tokens.data(), state.tokens.size() * 4);
  if (!state.window.empty()) std::memcpy(w.data_of(out.bytes, window), state.window.data(), state.window.size() * 4);
  if (!chat.empty()) std::memcpy(w.data_of(out.bytes, chat_index), chat.data(), chat.size());
  for (uint32_t l = 0; l < id.n_layers; ++l) {
    out.k.push_back(w.data_of(out.bytes, k[l]));
    out.v.push_back(w.data_of(out.bytes, v[l]));
  }
  return out;
}

Result<std::string> session_hash_scope(const uint8_t* bytes, size_t n_bytes) {
  Result<SafetensorsFile> parsed = SafetensorsFile::parse(bytes, n_bytes);
  if (!parsed.is_ok()) return parsed.status();
  return session_hash_scope(parsed.value());
}

Result<std::string> session_hash_scope(const SafetensorsFile& f) {
  const std::string* format = f.metadata("format");
  if (format == nullptr || *format != kSessionFormat) return fail("not a samepage LLM session (no format " + std::string(kSessionFormat) + ")");
  const std::string* scope = f.metadata("model_hash_scope");
  if (scope == nullptr || (*scope != "header" && *scope != "file")) return fail("model_hash_scope must be header or file");
  return *scope;
}

Result<SessionView> read_session(const uint8_t* bytes, size_t n_bytes, const SessionIdentity& id) {
  Result<SafetensorsFile> parsed = SafetensorsFile::parse(bytes, n_bytes);
  if (!parsed.is_ok()) return parsed.status();
  return read_session(parsed.value(), id);
}

Result<SessionView> read_session(const SafetensorsFile& f, const SessionIdentity& id) {
  auto meta = [&](const char* key, std::string* out) -> Status {
    const std::string* v = f.metadata(key);
    if (v == nullptr) return fail("the metadata has no '" + std::string(key) + "'");
    *out = *v;
    return Status::ok();
  };
  auto meta_u64 = [&](const char* key, uint64_t* out) -> Status {
    std::string v;
    if (Status s = meta(key, &v); !s.is_ok()) return s;
    if (!to_u64(v, out)) return fail("metadata '" + std::string(key) + "' is not a number: '" + v.substr(0, 32) + "'");
    return Status::ok();
  };
  std::string text;
  if (Status s = meta("format", &text); !s.is_ok() || text != kSessionFormat)
    return fail("not a samepage LLM session (metadata format is not " + std::string(kSessionFormat) + ")");
  uint64_t n = 0;
  if (Status s = meta_u64("version", &n); !s.is_ok()) return s;
  if (n != kSessionVersion)
    return fail("format version " + std::to_string(n) + "; this build reads version " + std::to_string(kSessionVersion));

  // The model: architecture, shapes, then the file's content.
  if (Status s = meta("architecture", &text); !s.is_ok()) return s;
  if (text != id.arch) return fail("saved with a '" + text.substr(0, 32) + "' model; this model is '" + id.arch + "'");
  const std::pair<const char*, uint32_t> shape[] = {{"n_layers", id.n_layers},     {"dim", id.dim},
                                                    {"ffn_dim", id.ffn_dim},       {"n_heads", id.n_heads},
                                                    {"n_kv_heads", id.n_kv_heads}, {"head_dim", id.head_dim},
                                                    {"vocab_size", id.vocab_size}};
  for (const auto& [key, want] : shape) {
    if (Status s = meta_u64(key, &n); !s.is_ok()) return s;
    if (n != want)
      return fail("saved with another model: " + std::string(key) + " " + std::to_string(n) + ", this model has " +
                  std::to_string(want));
  }
  if (Status s = meta("model_hash_scope", &text); !s.is_ok()) return s;
  if (text != id.model_hash_scope) return fail("model_hash_scope '" + text.substr(0, 32) + "' was not the one hashed");
  if (Status s = meta("model_sha256", &text); !s.is_ok()) return s;
  if (text != id.model_sha256)
    return fail("saved with another model file (sha256 of its " + id.model_hash_scope + " " + text.substr(0, 64) +
                ", this file's " + id.model_sha256 + ")");
  if (Status s = meta("kv_dtype", &text); !s.is_ok()) return s;
  const std::string want_kv = id.kv_f16 ? "F16" : "F32";
  if (text != want_kv)
    return fail("saved with an " + text.substr(0, 8) + " KV cache; this run's is " + want_kv +
                (id.kv_f16 ? " (add --kv-f32)" : " (drop --kv-f32)"));

  // Positions and contents.
  SessionView view;
  SessionState& st = view.state;
  if (Status s = meta_u64("n_past", &n); !s.is_ok()) return s;
  if (n > id.n_ctx)
    return fail("n_past " + std::to_string(n) + " exceeds this run's context of " + std::to_string(id.n_ctx) +
                " positions (raise -c)");
  st.n_past = uint32_t(n);
  if (Status s = meta_u64("rng_state", &st.rng_state); !s.is_ok()) return s;
  if (Status s = read_ids(f, "tokens", id.vocab_size, &st.tokens); !s.is_ok()) return s;
  if (st.tokens.size() < st.n_past)
    return fail("n_past " + std::to_string(st.n_past) + " is beyond the " + std::to_string(st.tokens.size()) +
                " tokens of the history");
  if (Status s = read_ids(f, "sampler.window", id.vocab_size, &st.window); !s.is_ok()) return s;
  size_t expected_tensors = 2 + 2 * size_t(id.n_layers);
  const StDtype kv = id.kv_f16 ? StDtype::St_f16 : StDtype::St_f32;
  for (uint32_t l = 0; l < id.n_layers; ++l)
    for (const char* which : {"k", "v"}) {
      const std::string name = layer_name(l, which);
      const StTensor* t = f.find(name);
      if (t == nullptr) return fail("the file has no '" + name + "' tensor");
      if (t->dtype != kv || t->shape.size() != 3 || t->shape[0] != st.n_past || t->shape[1] != id.n_kv_heads ||
          t->shape[2] != id.head_dim)
        return fail("'" + name + "' must be " + want_kv + " (" + std::to_string(st.n_past) + ", " +
                    std::to_string(id.n_kv_heads) + ", " + std::to_string(id.head_dim) + ")");
      (which[0] == 'k' ? view.k : view.v).push_back(t->data);
    }
  if (const StTensor* chat = f.find("chat.messages"); chat != nullptr) {
    if (chat->dtype != StDtype::St_u8 || chat->shape.size() != 1) return fail("'chat.messages' must be 1-d U8");
    st.has_chat = true;
    ++expected_tensors;
    if (Status s = decode_messages(chat->data, chat->shape[0], &st.messages); !s.is_ok()) return s;
  }
  if (f.tensors().size() != expected_tensors)
    return fail("the file has " + std::to_string(f.tensors().size()) + " tensors, a session of this model " +
                std::to_string(expected_tensors));
  return view;
}

}  // namespace llm
