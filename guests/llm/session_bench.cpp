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
  for (int rep = 0; rep < kRestoreReps; ++rep) {
    if (Status s = zero_cache(model, uint32_t(prompt.size() + 1)); !s.is_ok()) return s;
    model.truncate(0);
    Sampler fresh(sampler_options);
    t0 = now_ns();
    SessionLoadTimes part;
    Result<SessionState> loaded = load_session_file(path, model, fresh, &part);
    if (!loaded.is_ok()) return loaded.status();
    times.push_back(ms_since(t0));
    parts.push_back(part);
    if (model.n_past() != prompt.size()) return fail("the restore left n_past " + std::to_string(model.n_past()));
  }
  r.restore_first_ms = times[0];
  std::vector<size_t> order(times.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return times[a] < times[b]; });
  const size_t median = order[order.size() / 2];
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
  r.logits_equal = std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  r.uninterrupted_equal = std::memcmp(u.data(), b.data(), u.size() * sizeof(float)) == 0;
  for (size_t i = 0; i < a.size(); ++i) r.max_abs_diff = std::max(r.max_abs_diff, std::fabs(a[i] - b[i]));
  return r;
}

std::string session_bench_json(const SessionBenchResult& r, const Model& model) {
  char line[1024];
  std::snprintf(line, sizeof line,
                "{\"n_tokens\": %zu, \"save_ms\": %.3f, \"restore_ms\": %.3f, \"reprefill_ms\": %.3f, "
                "\"file_bytes\": %llu, \"speedup\": %.1f, \"restore_first_ms\": %.3f, \"restore_reps\": %d, "
                "\"restore_read_ms\": %.3f, \"restore_check_ms\": %.3f, \"restore_upload_ms\": %.3f, "
                "\"prefill_ms\": %.3f, \"hash_ms\": %.3f, \"decode_ms\": %.3f, \"logits_equal\": %s, "
                "\"uninterrupted_equal\": %s, \"max_abs_diff\": %g, \"next_token\": %d, \"kv_dtype\": \"%s\", "
                "\"n_ctx\": %u}",
                r.n_tokens, r.save_ms, r.restore_ms, r.reprefill_ms, static_cast<unsigned long long>(r.file_bytes),
                r.restore_ms > 0 ? r.reprefill_ms / r.restore_ms : 0.0, r.restore_first_ms, kRestoreReps, r.read_ms, r.check_ms,
                r.upload_ms,
                r.prefill_ms, r.hash_ms, r.decode_ms, r.logits_equal ? "true" : "false",
                r.uninterrupted_equal ? "true" : "false", double(r.max_abs_diff),
                r.next_token, model.kv_f16() ? "F16" : "F32", model.n_ctx());
  return line;
}

}  // namespace llm
