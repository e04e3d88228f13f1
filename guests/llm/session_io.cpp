// Session files through WASI: read whole (bounded), written via a temporary.
#include "session_io.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "host_timer.h"

namespace llm {
namespace {

Status fail(const std::string& what) { return Status::error("[session] " + what); }

// A wasm32 guest holds the file in memory: 1.5 GiB leaves room for the model's own.
constexpr uint64_t kMaxSessionBytes = uint64_t{3} << 29;

// The file into bytes, resized to it (a reused buffer's bytes up to its old size are not zeroed again).
Status read_file(const std::string& path, std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return fail("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(f);
    return fail(path + " is not a regular file");
  }
  if (uint64_t(st.st_size) > kMaxSessionBytes) {
    std::fclose(f);
    return fail(path + " is " + std::to_string(st.st_size) + " bytes, over the 1.5 GiB a session may have");
  }
  bytes.resize(size_t(st.st_size));
  const size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  if (got != bytes.size()) return fail("reading " + path + " failed after " + std::to_string(got) + " bytes");
  return Status::ok();
}

Status write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return fail("cannot write " + tmp + ": " + std::strerror(errno));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    std::remove(tmp.c_str());
    return fail("writing " + tmp + " failed: " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return fail("cannot rename " + tmp + " to " + path + ": " + why);
  }
  return Status::ok();
}

Result<SessionIdentity> identity_of(const Model& model, const std::string& hash_scope) {
  const ModelConfig& c = model.config();
  SessionIdentity id;
  id.arch = c.arch_name;
  id.n_layers = c.n_layers, id.dim = c.dim, id.ffn_dim = c.ffn_dim, id.n_heads = c.n_heads;
  id.n_kv_heads = c.n_kv_heads, id.head_dim = c.head_dim, id.vocab_size = c.vocab_size;
  id.model_hash_scope = hash_scope;
  Result<std::string> hash = model.content_hash(hash_scope);
  if (!hash.is_ok()) return hash.status();
  id.model_sha256 = hash.value();
  id.kv_f16 = model.kv_f16();
  id.n_ctx = model.n_ctx();
  return id;
}

}  // namespace

Status save_session_file(const std::string& path, Model& model, const Sampler& sampler, SessionState state,
                         const std::string& hash_scope, const std::string& mode) {
  Result<SessionIdentity> id = identity_of(model, hash_scope);
  if (!id.is_ok()) return id.status();
  state.n_past = model.n_past();
  if (state.tokens.size() < state.n_past) return fail("the history is shorter than the KV cache");
  state.rng_state = sampler.rng_state();
  state.window = sampler.window();
  SessionFile file = build_session(id.value(), state, mode);
  if (Status s = model.read_kv(file.k, file.v); !s.is_ok()) return s;
  return write_file(path, file.bytes);
}

Result<SessionState> load_session_file(const std::string& path, Model& model, Sampler& sampler,
                                       SessionLoadTimes* times, std::vector<uint8_t>* buffer) {
  SessionLoadTimes local;
  SessionLoadTimes& t = times != nullptr ? *times : local;
  std::vector<uint8_t> own;
  std::vector<uint8_t>& b = buffer != nullptr ? *buffer : own;
  uint64_t t0 = now_ns();
  if (Status s = read_file(path, b); !s.is_ok()) return s;
  t.read_ms = double(now_ns() - t0) / 1e6;
  t0 = now_ns();
  Result<SafetensorsFile> parsed = SafetensorsFile::parse(b.data(), b.size());  // once: the scope, then the checks
  if (!parsed.is_ok()) return Status::error(parsed.message() + " (" + path + ")");
  Result<std::string> scope = session_hash_scope(parsed.value());
  if (!scope.is_ok()) return Status::error(scope.message() + " (" + path + ")");
  Result<SessionIdentity> id = identity_of(model, scope.value());
  if (!id.is_ok()) return id.status();
  Result<SessionView> view = read_session(parsed.value(), id.value());
  if (!view.is_ok()) return Status::error(view.message() + " (" + path + ")");
  t.check_ms = double(now_ns() - t0) / 1e6;
  t0 = now_ns();
  SessionState& st = view.value().state;
  if (Status s = model.write_kv(view.value().k, view.value().v, st.n_past, buffer != nullptr); !s.is_ok()) return s;
  t.upload_ms = double(now_ns() - t0) / 1e6;
  sampler.restore(st.rng_state, st.window);
  return std::move(st);
}

}  // namespace llm
