// The llm guest: `llm generate|tokenize|chat -m MODEL ...` (see options.h).
// Loads the model through WASI, runs it through the host tensor API and
// streams text to stdout; errors go to stderr with exit code 1 (2 for usage).
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "chat_template.h"
#include "host_timer.h"
#include "model.h"
#include "options.h"
#include "progress_bar.h"
#include "sampler.h"
#include "session_bench.h"
#include "session_io.h"
#include "tokenizer.h"
#include "utf8_stream.h"

namespace llm {
namespace {

int report(const Status& s) {
  std::fprintf(stderr, "llm: %s\n", s.message().c_str());
  return 1;
}

void emit(const std::string& text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

struct Session {
  Options opts;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null only in --ids mode when the file has none
  double load_ms = 0;
  double session_load_ms = 0;  // --load-session: read, check, restore
  double session_save_ms = 0;  // --save-session: the last save
  FILE* dump = nullptr;  // --dump-logits
};

// What one generate call measured.
struct Timings {
  size_t prompt_tokens = 0;
  double warmup_ms = 0;      // --warmup: the untimed first run of the prompt
  double prefill_ms = 0;     // the prompt's forward steps only
  size_t generated = 0;      // tokens sampled
  size_t decode_steps = 0;   // forward steps after the prefill
  double decode_ms = 0;
  uint64_t decode_host_ns = 0;  // of decode_ms, inside sp_* calls
};

Status load(Session& s) {
  const uint64_t t0 = now_ns();
  ProgressBar bar("loading");
  ModelOptions options = s.opts.model;
  options.progress = ProgressBar::callback;
  options.progress_ctx = &bar;
  Result<std::unique_ptr<Model>> m = Model::load(s.opts.model_path, options);
  if (!m.is_ok()) return m.status();
  s.model = std::move(m.value());
  Result<Tokenizer> tok = Tokenizer::from_gguf(s.model->gguf());
  if (tok.is_ok()) {
    s.tokenizer = std::make_unique<Tokenizer>(std::move(tok.value()));
  } else if (!s.opts.ids) {
    return tok.status();
  }
  s.load_ms = double(now_ns() - t0) / 1e6;
  if (!s.opts.dump_logits.empty()) {
    s.dump = std::fopen(s.opts.dump_logits.c_str(), "wb");
    if (s.dump == nullptr)
      return Status::error("[llm] cannot write " + s.opts.dump_logits + ": " + std::strerror(errno));
  }
  return Status::ok();
}

Status dump_logits(Session& s) {
  if (s.dump == nullptr) return Status::ok();
  Result<const float*> l = s.model->logits();
  if (!l.is_ok()) return l.status();
  const size_t n = s.model->config().vocab_size;
  if (std::fwrite(l.value(), sizeof(float), n, s.dump) != n) return Status::error("[llm] writing logits failed");
  return Status::ok();
}

// Prefills prompt (at the model's current position; the caller has shown
// its tokens to the sampler) and samples up to n_predict tokens, calling
// on_token(id) for each kept one; false from on_token stops. Tokens fed back
// are appended to *fed; *pending is the last sampled token when it was not
// fed (-1 if none): a saved session runs it first when it continues.
template <typename OnToken>
Status generate(Session& s, Sampler& sampler, const std::vector<int32_t>& prompt, int32_t n_predict,
                std::vector<int32_t>* fed, int32_t* pending, Timings* t, OnToken on_token) {
  Model& model = *s.model;
  *pending = -1;
  t->prompt_tokens = prompt.size();
  uint64_t t0 = now_ns();
  if (s.opts.warmup) {
    // The first run of a batch size records its step, captures its graph
    // and uploads the weights it reads: done once here, then forgotten, so
    // prefill_ms times the forward steps alone.
    const uint32_t n_past = model.n_past();
    if (Status st = model.prefill(prompt.data(), prompt.size()); !st.is_ok()) return st;
    model.truncate(n_past);
    t->warmup_ms = double(now_ns() - t0) / 1e6;
    t0 = now_ns();
  }
  if (Status st = model.prefill(prompt.data(), prompt.size()); !st.is_ok()) return st;
  fed->insert(fed->end(), prompt.begin(), prompt.end());
  t->prefill_ms = double(now_ns() - t0) / 1e6;
  t0 = now_ns();
  const uint64_t host0 = model.host_timer().ns();
  for (int32_t i = 0; n_predict < 0 || i < n_predict; ++i) {
    if (Status st = dump_logits(s); !st.is_ok()) return st;
    int32_t token = model.greedy_token();
    if (!sampler.device_argmax_suffices()) {
      Result<const float*> logits = model.logits();
      if (!logits.is_ok()) return logits.status();
      token = sampler.sample(logits.value(), model.config().vocab_size);
    }
    sampler.accept(token);
    ++t->generated;
    *pending = token;
    if (!s.opts.ignore_eos && s.tokenizer && s.tokenizer->is_end_of_generation(token)) break;
    if (!on_token(token)) break;
    if (n_predict >= 0 && i + 1 >= n_predict) break;  // the last token needs no forward step
    if (model.n_past() >= model.n_ctx()) break;       // context full: stop, as llama.cpp does
    if (Status st = model.decode(token); !st.is_ok()) return st;
    fed->push_back(token);
    *pending = -1;
    ++t->decode_steps;
  }
  t->decode_ms = double(now_ns() - t0) / 1e6;
  t->decode_host_ns = model.host_timer().ns() - host0;
  return Status::ok();
}

void print_timings(const Session& s, const Timings& t) {
  const double steps = t.decode_steps ? double(t.decode_steps) : 1.0;
  const double host_ms = double(t.decode_host_ns) / 1e6;
  const double guest_ms = t.decode_ms > host_ms ? t.decode_ms - host_ms : 0.0;
  std::printf(
      "{\"load_ms\": %.2f, \"prompt_tokens\": %zu, \"warmup_ms\": %.2f, \"prefill_ms\": %.2f, \"prefill_tok_s\": %.2f, "
      "\"generated_tokens\": %zu, \"decode_steps\": %zu, \"decode_ms\": %.2f, \"decode_tok_s\": %.2f, "
      "\"host_ms_per_token\": %.4f, \"guest_ms_per_token\": %.4f, \"guest_share\": %.4f, \"n_ctx\": %u, "
      "\"n_past\": %u, \"session_load_ms\": %.2f, \"session_save_ms\": %.2f, \"session_hash_ms\": %.2f}\n",
      s.load_ms, t.prompt_tokens, t.warmup_ms, t.prefill_ms, t.prefill_ms > 0 ? double(t.prompt_tokens) * 1e3 / t.prefill_ms : 0.0,
      t.generated, t.decode_steps, t.decode_ms, t.decode_ms > 0 ? double(t.decode_steps) * 1e3 / t.decode_ms : 0.0,
      host_ms / steps, guest_ms / steps, t.decode_steps > 0 && t.decode_ms > 0 ? guest_ms / t.decode_ms : 0.0, s.model->n_ctx(),
      s.model->n_past(), s.session_load_ms, s.session_save_ms, s.model->content_hash_ms());
  std::fflush(stdout);
}

// The prompt's ids: parsed from text under --ids, unless tokenizing is the point.
// add_bos false: text that continues a restored session.
Result<std::vector<int32_t>> prompt_tokens(const Session& s, const std::string& text, bool add_bos = true) {
  if (s.opts.ids && s.opts.mode != Mode::Mode_tokenize) return parse_ids(text);
  if (!s.tokenizer) return Status::error("[llm] the model has no usable tokenizer");
  std::vector<int32_t> ids;
  if (add_bos && s.tokenizer->add_bos() && s.tokenizer->bos_id() >= 0) ids.push_back(s.tokenizer->bos_id());
  std::vector<int32_t> body = s.tokenizer->encode(text, /*parse_special=*/true);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

int run_tokenize(Session& s) {
  Result<std::vector<int32_t>> ids = prompt_tokens(s, s.opts.prompt);
  if (!ids.is_ok()) return report(ids.status());
  if (s.opts.ids) {
    std::printf("[");
    for (size_t i = 0; i < ids.value().size(); ++i) std::printf("%s%d", i ? ", " : "", ids.value()[i]);
    std::printf("]\n");
    return 0;
  }
  for (int32_t id : ids.value()) {
    const std::string piece = s.tokenizer ? s.tokenizer->decode_token(id, true) : "";
    std::printf("%6d -> '%s'\n", id, piece.c_str());
  }
  return 0;
}

// --load-session: the restored history, split into what the cache holds
// (*fed) and what still waits to run (*to_run: the token sampled last).
Status restore(Session& s, Sampler& sampler, std::vector<int32_t>* fed, std::vector<int32_t>* to_run,
               SessionState* state) {
  const uint64_t t0 = now_ns();
  Result<SessionState> loaded = load_session_file(s.opts.load_session, *s.model, sampler);
  if (!loaded.is_ok()) return loaded.status();
  *state = std::move(loaded.value());
  fed->assign(state->tokens.begin(), state->tokens.begin() + long(state->n_past));
  to_run->assign(state->tokens.begin() + long(state->n_past), state->tokens.end());
  s.session_load_ms = double(now_ns() - t0) / 1e6;
  return Status::ok();
}

Status save(Session& s, const Sampler& sampler, SessionState state, const char* mode) {
  const uint64_t t0 = now_ns();
  Status st = save_session_file(s.opts.save_session, *s.model, sampler, std::move(state), s.opts.session_hash, mode);
  s.session_save_ms = double(now_ns() - t0) / 1e6;
  return st;
}

// --session-bench: one JSON line; exit 1 when the restored logits differ.
int run_bench(Session& s) {
  Result<std::vector<int32_t>> ids = prompt_tokens(s, s.opts.prompt);
  if (!ids.is_ok()) return report(ids.status());
  Result<SessionBenchResult> r = run_session_bench(*s.model, s.opts.sampler, ids.value(), s.opts.session_bench, s.opts.session_hash);
  if (!r.is_ok()) return report(r.status());
  std::printf("%s\n", session_bench_json(r.value(), *s.model).c_str());
  std::fflush(stdout);
  if (!r.value().uninterrupted_equal)
    return report(Status::error("[session-bench] the logits after the restore differ from the uninterrupted run's"));
  if (!r.value().logits_equal)
    return report(Status::error("[session-bench] the logits after the restore differ from those after the re-prefill"));
  if (!r.value().checkpoint_logits_equal)
    return report(Status::error("[session-bench] the logits after the checkpoint restore differ from those after the "
                                "re-prefill"));
  if (!r.value().other_session_equal)
    return report(Status::error("[session-bench] another session restored through the same buffer gave other logits "
                                "than its uninterrupted run's"));
  return 0;
}

int run_generate(Session& s) {
  if (!s.opts.session_bench.empty()) return run_bench(s);
  Sampler sampler(s.opts.sampler);
  std::vector<int32_t> fed, prompt;  // in the KV cache; to run
  if (!s.opts.load_session.empty()) {
    SessionState restored;
    if (Status st = restore(s, sampler, &fed, &prompt, &restored); !st.is_ok()) return report(st);
  }
  if (s.opts.has_prompt) {  // after a session: appended, without a BOS
    Result<std::vector<int32_t>> ids = prompt_tokens(s, s.opts.prompt, fed.empty() && prompt.empty());
    if (!ids.is_ok()) return report(ids.status());
    for (int32_t id : ids.value()) sampler.accept(id);
    prompt.insert(prompt.end(), ids.value().begin(), ids.value().end());
  }
  if (prompt.empty() && !fed.empty()) {
    // Everything is cached (a session chat saved): its last token again, for logits.
    prompt.push_back(fed.back());
    fed.pop_back();
    s.model->truncate(uint32_t(fed.size()));
  }
  if (prompt.empty()) return report(Status::error("[llm] the prompt has no tokens"));
  Utf8Stream utf8;
  StopStrings stops(s.opts.stops);
  Timings t;
  int32_t pending = -1;
  bool first = true;
  Status st = generate(s, sampler, prompt, s.opts.n_predict, &fed, &pending, &t, [&](int32_t id) {
    if (s.opts.ids || !s.tokenizer) {
      std::printf(first ? "%d" : " %d", id);
      std::fflush(stdout);
      first = false;
      return true;
    }
    emit(stops.push(utf8.push(s.tokenizer->decode_token(id))));
    return !stops.stopped();
  });
  if (!s.opts.ids && s.tokenizer) emit(stops.push(utf8.flush()) + stops.flush());
  std::printf("\n");
  if (!st.is_ok()) return report(st);
  if (!s.opts.save_session.empty()) {
    SessionState state;
    state.tokens = fed;
    if (pending >= 0) state.tokens.push_back(pending);
    if (Status saved = save(s, sampler, std::move(state), "generate"); !saved.is_ok()) return report(saved);
  }
  if (s.opts.json) print_timings(s, t);
  return 0;
}

// Interactive chat: the whole conversation is rendered each turn, and only the
// tokens after the part already in the KV cache are run.
int run_chat(Session& s) {
  if (!s.tokenizer) return report(Status::error("[llm] chat needs the model's tokenizer"));
  Result<ChatFamily> family = chat_family_from_gguf(s.model->gguf());
  if (!family.is_ok()) return report(family.status());
  std::vector<ChatMessage> messages;
  std::vector<int32_t> cached;  // tokens at KV positions 0 .. n_past - 1
  Sampler sampler(s.opts.sampler);
  if (!s.opts.load_session.empty()) {  // the conversation so far; --system is its own
    SessionState restored;
    std::vector<int32_t> unused;
    if (Status st = restore(s, sampler, &cached, &unused, &restored); !st.is_ok()) return report(st);
    if (!restored.has_chat)
      return report(Status::error("[session] " + s.opts.load_session + " was saved by generate: it has no conversation"));
    messages = std::move(restored.messages);
  } else if (!s.opts.system.empty()) {
    messages.push_back({"system", s.opts.system});
  }
  char line[8192];
  for (;;) {
    if (s.opts.tty) emit("> ");
    if (std::fgets(line, sizeof line, stdin) == nullptr) break;
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty()) continue;
    messages.push_back({"user", text});
    Result<std::vector<int32_t>> ids = prompt_tokens(s, apply_chat_template(family.value(), messages, true));
    if (!ids.is_ok()) return report(ids.status());
    size_t common = 0;
    while (common < cached.size() && common < ids.value().size() && cached[common] == ids.value()[common]) ++common;
    if (common == ids.value().size()) --common;  // at least one token to run, for fresh logits
    s.model->truncate(uint32_t(common));
    cached.resize(common);
    const std::vector<int32_t> rest(ids.value().begin() + long(common), ids.value().end());
    Utf8Stream utf8;
    std::string reply;
    Timings t;
    sampler.reset();
    for (int32_t id : rest) sampler.accept(id);
    int32_t pending = -1;
    Status st = generate(s, sampler, rest, s.opts.n_predict, &cached, &pending, &t, [&](int32_t id) {
      const std::string piece = s.tokenizer->decode_token(id);
      reply += piece;
      emit(utf8.push(piece));
      return true;
    });
    emit(utf8.flush() + "\n");
    if (!st.is_ok()) return report(st);
    messages.push_back({"assistant", reply});
    if (!s.opts.save_session.empty()) {  // after every turn: the conversation so far
      SessionState state;
      state.tokens = cached;
      state.has_chat = true;
      state.messages = messages;
      if (Status saved = save(s, sampler, std::move(state), "chat"); !saved.is_ok()) return report(saved);
    }
    if (s.opts.json) print_timings(s, t);
  }
  return 0;
}

}  // namespace
}  // namespace llm

int main(int argc, char** argv) {
  using namespace llm;
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  Result<Options> opts = parse_options(args);
  if (!opts.is_ok()) {
    std::fprintf(stderr, "llm: %s\n", opts.message().c_str());
    return 2;
  }
  Session s;
  s.opts = std::move(opts.value());
  if (s.opts.mode == Mode::Mode_tokenize) s.opts.model.n_ctx = s.opts.model.n_batch = 1;  // no forward pass
  if (Status st = load(s); !st.is_ok()) return report(st);
  int rc = 0;
  switch (s.opts.mode) {
    case Mode::Mode_tokenize: rc = run_tokenize(s); break;
    case Mode::Mode_generate: rc = run_generate(s); break;
    case Mode::Mode_chat: rc = run_chat(s); break;
  }
  if (s.dump != nullptr) std::fclose(s.dump);
  return rc;
}
