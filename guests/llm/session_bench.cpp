// The in-process restore benchmark (session_bench.h).
#include "session_bench.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "host_timer.h"
#include "session_io.h"

namespace llm {
namespace {

Status fail(const std::string& what) { return Status::error("[session-bench] " + what); }

double ms_since(uint64_t t0) { return double(now_ns() - t0) / 1e6; }

// Every layer's rows [0, n) set to zero: what the restore must overwrite.
Status zero_cache(Model& model, uint32_t n) {
  const ModelConfig& c = model.config();
  const size_t bytes = size_t(n) * c.n_kv_heads * c.head_dim * (model.kv_f16() ? 2 : 4);
  std::vector<uint8_t> zeros(bytes, 0);
  std::vector<const uint8_t*> rows(c.n_layers, zeros.data());
  return model.write_kv(rows, rows, n);
}

// The median of times and the index it came from.
size_t median_index(const std::vector<double>& times) {
  std::vector<size_t> order(times.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return times[a] < times[b]; });
  return order[order.size() / 2];
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

Result<std::vector<float>> logits_copy(Model& model) {
  Result<const float*> l = model.logits();
  if (!l.is_ok()) return l.status();
  return std::vector<float>(l.value(), l.value() + model.config().vocab_size);
}

}  // namespace

Result<SessionBenchResult> run_session_bench(Model& model, const SamplerOptions& sampler_options,
                                             const std::vector<int32_t>& prompt, const std::string& path,
                                             const std::string& hash_scope) {
  SessionBenchResult r;
  r.n_tokens = prompt.size();
  if (prompt.empty()) return fail("the prompt has no tokens");
  if (model.n_past() != 0) return fail("the model's cache is not empty");
  if (prompt.size() + 1 > model.n_ctx())
    return fail(std::to_string(prompt.size()) + " prompt tokens and one decode step need a context of " +
                std::to_string(prompt.size() + 1) + " (raise -c; it is " + std::to_string(model.n_ctx()) + ")");

  uint64_t t0 = now_ns();
  if (Status s = model.prefill(prompt.data(), prompt.size()); !s.is_ok()) return s;
  r.prefill_ms = ms_since(t0);
  r.next_token = model.greedy_token();

  // Once per process (Model caches it): outside the save's and restores' times.
  t0 = now_ns();
  if (Result<std::string> h = model.content_hash(hash_scope); !h.is_ok()) return h.status();
  r.hash_ms = ms_since(t0);

  Sampler sampler(sampler_options);
  for (int32_t id : prompt) sampler.accept(id);
  SessionState state;
  state.tokens = prompt;
  t0 = now_ns();
  if (Status s = save_session_file(path, model, sampler, state, hash_scope, "generate"); !s.is_ok()) return s;
  r.save_ms = ms_since(t0);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return fail("the saved file " + path + " is not there");
  r.file_bytes = uint64_t(st.st_size);

  // The device-memory checkpoint of the same state (row n is not yet written).
  KvCheckpoint checkpoint;
  t0 = now_ns();
  if (Status s = model.checkpoint_kv(checkpoint); !s.is_ok()) return s;
  r.checkpoint_ms = ms_since(t0);
  r.checkpoint_bytes = checkpoint.n_bytes;

  // The uninterrupted run's next step (row n is past what was saved).
  if (Status s = model.decode(r.next_token); !s.is_ok()) return s;
  Result<std::vector<float>> uninterrupted = logits_copy(model);
  if (!uninterrupted.is_ok()) return uninterrupted.status();

  model.truncate(0);
  t0 = now_ns();
  if (Status s = model.prefill(prompt.data(), prompt.size()); !s.is_ok()) return s;
  r.reprefill_ms = ms_since(t0);
  if (Status s = model.decode(r.next_token); !s.is_ok()) return s;
  Result<std::vector<float>> reference = logits_copy(model);
  if (!reference.is_ok()) return reference.status();

  std::vector<double> times;
  std::vector<SessionLoadTimes> parts;
  std::vector<uint8_t> file_buffer;  // one for every restore, as a server would keep it
  for (int rep = 0; rep < kRestoreReps; ++rep) {
    if (Status s = zero_cache(model, uint32_t(prompt.size() + 1)); !s.is_ok()) return s;
    model.truncate(0);
    Sampler fresh(sampler_options);
    t0 = now_ns();
    SessionLoadTimes part;
    Result<SessionState> loaded = load_session_file(path, model, fresh, &part, &file_buffer);
    if (!loaded.is_ok()) return loaded.status();
    times.push_back(ms_since(t0));
    parts.push_back(part);
    if (model.n_past() != prompt.size()) return fail("the restore left n_past " + std::to_string(model.n_past()));
  }
  r.restore_first_ms = times[0];
  const size_t median = median_index(times);
  r.restore_ms = times[median];
  r.read_ms = parts[median].read_ms, r.check_ms = parts[median].check_ms, r.upload_ms = parts[median].upload_ms;

  t0 = now_ns();
  if (Status s = model.decode(r.next_token); !s.is_ok()) return s;
  r.decode_ms = ms_since(t0);
  Result<std::vector<float>> restored = logits_copy(model);
  if (!restored.is_ok()) return restored.status();
  const std::vector<float>& a = reference.value();
  const std::vector<float>& b = restored.value();
  const std::vector<float>& u = uninterrupted.value();
  r.logits_equal = bitwise_equal(a, b);
  r.uninterrupted_equal = bitwise_equal(u, b);
  for (size_t i = 0; i < a.size(); ++i) r.max_abs_diff = std::max(r.max_abs_diff, std::fabs(a[i] - b[i]));

  // The checkpoint back, over zeroed rows as the file restore did.
  std::vector<double> checkpoint_times;
  for (int rep = 0; rep < kRestoreReps; ++rep) {
    if (Status s = zero_cache(model, uint32_t(prompt.size() + 1)); !s.is_ok()) return s;
    model.truncate(0);
    t0 = now_ns();
    if (Status s = model.restore_kv(checkpoint); !s.is_ok()) return s;
    checkpoint_times.push_back(ms_since(t0));
    if (model.n_past() != prompt.size())
      return fail("the checkpoint restore left n_past " + std::to_string(model.n_past()));
  }
  r.checkpoint_restore_first_ms = checkpoint_times[0];
  r.checkpoint_restore_ms = checkpoint_times[median_index(checkpoint_times)];
  if (Status s = model.decode(r.next_token); !s.is_ok()) return s;
  Result<std::vector<float>> from_checkpoint = logits_copy(model);
  if (!from_checkpoint.is_ok()) return from_checkpoint.status();
  r.checkpoint_logits_equal = bitwise_equal(a, from_checkpoint.value());
  // Another session of the same length through the same buffer: the prompt
  // rotated by one (the same ids, so the same file layout and the same
  // addresses of its rows: the recorded upload is replayed over new bytes).
  // The restore must give that session's logits, not the first one's.
  std::vector<int32_t> other(prompt.begin() + 1, prompt.end());
  other.push_back(prompt.front());
  model.truncate(0);
  if (Status s = model.prefill(other.data(), other.size()); !s.is_ok()) return s;
  const int32_t other_token = model.greedy_token();
  Sampler other_sampler(sampler_options);
  for (int32_t id : other) other_sampler.accept(id);
  SessionState other_state;
  other_state.tokens = other;
  const std::string other_path = path + ".other";
  if (Status s = save_session_file(other_path, model, other_sampler, other_state, hash_scope, "generate"); !s.is_ok())
    return s;
  if (Status s = model.decode(other_token); !s.is_ok()) return s;
  Result<std::vector<float>> other_uninterrupted = logits_copy(model);
  if (!other_uninterrupted.is_ok()) return other_uninterrupted.status();
  if (Status s = zero_cache(model, uint32_t(other.size() + 1)); !s.is_ok()) return s;
  model.truncate(0);
  Sampler fresh(sampler_options);
  Result<SessionState> other_loaded = load_session_file(other_path, model, fresh, nullptr, &file_buffer);
  std::remove(other_path.c_str());
  if (!other_loaded.is_ok()) return other_loaded.status();
  if (Status s = model.decode(other_token); !s.is_ok()) return s;
  Result<std::vector<float>> other_restored = logits_copy(model);
  if (!other_restored.is_ok()) return other_restored.status();
  r.other_session_equal = bitwise_equal(other_uninterrupted.value(), other_restored.value());
  r.upload_records = model.kv_upload_records();
  return r;
}

std::string session_bench_json(const SessionBenchResult& r, const Model& model) {
  char line[1536];
  std::snprintf(line, sizeof line,
                "{\"n_tokens\": %zu, \"save_ms\": %.3f, \"restore_ms\": %.3f, \"reprefill_ms\": %.3f, "
                "\"file_bytes\": %llu, \"speedup\": %.1f, \"restore_first_ms\": %.3f, \"restore_reps\": %d, "
                "\"restore_read_ms\": %.3f, \"restore_check_ms\": %.3f, \"restore_upload_ms\": %.3f, "
                "\"prefill_ms\": %.3f, \"hash_ms\": %.3f, \"decode_ms\": %.3f, \"logits_equal\": %s, "
                "\"uninterrupted_equal\": %s, \"max_abs_diff\": %g, \"next_token\": %d, \"kv_dtype\": \"%s\", "
                "\"n_ctx\": %u, \"checkpoint_ms\": %.4f, \"checkpoint_restore_ms\": %.4f, "
                "\"checkpoint_speedup\": %.1f, \"checkpoint_restore_first_ms\": %.4f, \"checkpoint_bytes\": %llu, "
                "\"checkpoint_logits_equal\": %s, \"other_session_equal\": %s, \"upload_records\": %llu}",
                r.n_tokens, r.save_ms, r.restore_ms, r.reprefill_ms, static_cast<unsigned long long>(r.file_bytes),
                r.restore_ms > 0 ? r.reprefill_ms / r.restore_ms : 0.0, r.restore_first_ms, kRestoreReps, r.read_ms, r.check_ms,
                r.upload_ms,
                r.prefill_ms, r.hash_ms, r.decode_ms, r.logits_equal ? "true" : "false",
                r.uninterrupted_equal ? "true" : "false", double(r.max_abs_diff),
                r.next_token, model.kv_f16() ? "F16" : "F32", model.n_ctx(), r.checkpoint_ms,
                r.checkpoint_restore_ms, r.checkpoint_restore_ms > 0 ? r.reprefill_ms / r.checkpoint_restore_ms : 0.0,
                r.checkpoint_restore_first_ms, static_cast<unsigned long long>(r.checkpoint_bytes),
                r.checkpoint_logits_equal ? "true" : "false", r.other_session_equal ? "true" : "false",
                static_cast<unsigned long long>(r.upload_records));
  return line;
}

}  // namespace llm
