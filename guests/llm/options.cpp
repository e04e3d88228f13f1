// Flag parsing for the llm guest, with ranges checked here so that the
// model and sampler never see a nonsensical value.
#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace llm {
namespace {

Status fail(const std::string& what) { return Status::error("[options] " + what); }

bool to_long(const std::string& s, long long lo, long long hi, long long* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool to_float(const std::string& s, float lo, float hi, float* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const float v = std::strtof(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

Result<std::vector<int32_t>> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::string item;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ' ';
    if (c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '[' || c == ']') {
      if (item.empty()) continue;
      long long v = 0;
      if (!to_long(item, 0, INT32_MAX, &v)) return fail("'" + item + "' is not a token id");
      ids.push_back(int32_t(v));
      item.clear();
    } else {
      item += c;
    }
  }
  return ids;
}

Result<Options> parse_options(const std::vector<std::string>& args) {
  Options o;
  if (args.empty()) return fail("no mode: generate, tokenize or chat");
  if (args[0] == "generate") o.mode = Mode::Mode_generate;
  else if (args[0] == "tokenize") o.mode = Mode::Mode_tokenize;
  else if (args[0] == "chat") o.mode = Mode::Mode_chat;
  else return fail("unknown mode '" + args[0] + "' (generate, tokenize or chat)");

  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const std::string* v = i + 1 < args.size() ? &args[i + 1] : nullptr;
    auto need = [&](const char* what) -> Status {
      if (v == nullptr) return fail(a + " needs " + what);
      ++i;
      return Status::ok();
    };
    long long n = 0;
    float f = 0;
    Status s = Status::ok();
    if (a == "--ids") { o.ids = true; continue; }
    if (a == "--json") { o.json = true; continue; }
    if (a == "--ignore-eos") { o.ignore_eos = true; continue; }
    if (a == "--tty") { o.tty = true; continue; }
    if (a == "--warmup") { o.warmup = true; continue; }
    if (a == "--kv-f32") { o.model.kv_f16 = false; continue; }
    if (a == "-m" || a == "--model") {
      if (s = need("a model path"); s.is_ok()) o.model_path = *v;
    } else if (a == "-p" || a == "--prompt") {
      if (s = need("a prompt"); s.is_ok()) o.prompt = *v, o.has_prompt = true;
    } else if (a == "--system") {
      if (s = need("a system message"); s.is_ok()) o.system = *v;
    } else if (a == "--stop") {
      if (s = need("a stop string"); s.is_ok()) o.stops.push_back(*v);
    } else if (a == "--save-session") {
      if (s = need("a path"); s.is_ok()) o.save_session = *v;
    } else if (a == "--load-session") {
      if (s = need("a path"); s.is_ok()) o.load_session = *v;
    } else if (a == "--session-bench") {
      if (s = need("a path"); s.is_ok()) o.session_bench = *v;
    } else if (a == "--session-hash") {
      if (s = need("header or file"); s.is_ok() && *v != "header" && *v != "file")
        s = fail("--session-hash must be header or file, got '" + *v + "'");
      if (s.is_ok()) o.session_hash = *v;
    } else if (a == "--dump-logits") {
      if (s = need("a path"); s.is_ok()) o.dump_logits = *v;
    } else if (a == "-n" || a == "--n-predict") {
      if (s = need("a token count"); s.is_ok() && !to_long(*v, -1, INT32_MAX, &n)) s = fail("-n must be -1 or a count, got '" + *v + "'");
      o.n_predict = int32_t(n);
    } else if (a == "-c" || a == "--ctx-size") {
      if (s = need("a context size"); s.is_ok() && !to_long(*v, 0, 1 << 20, &n)) s = fail("-c must be 0 to 1048576, got '" + *v + "'");
      o.model.n_ctx = uint32_t(n);
    } else if (a == "--batch") {
      if (s = need("a batch size"); s.is_ok() && !to_long(*v, 1, 4096, &n)) s = fail("--batch must be 1 to 4096, got '" + *v + "'");
      o.model.n_batch = uint32_t(n);
    } else if (a == "--temp") {
      if (s = need("a temperature"); s.is_ok() && !to_float(*v, 0, 100, &f)) s = fail("--temp must be 0 to 100, got '" + *v + "'");
      o.sampler.temperature = f;
    } else if (a == "--top-k") {
      if (s = need("a count"); s.is_ok() && !to_long(*v, 0, INT32_MAX, &n)) s = fail("--top-k must be >= 0, got '" + *v + "'");
      o.sampler.top_k = int32_t(n);
    } else if (a == "--top-p") {
      if (s = need("a probability"); s.is_ok() && !to_float(*v, 0, 1, &f)) s = fail("--top-p must be 0 to 1, got '" + *v + "'");
      o.sampler.top_p = f;
    } else if (a == "--min-p") {
      if (s = need("a probability"); s.is_ok() && !to_float(*v, 0, 1, &f)) s = fail("--min-p must be 0 to 1, got '" + *v + "'");
      o.sampler.min_p = f;
    } else if (a == "--repeat-penalty") {
      if (s = need("a factor"); s.is_ok() && !to_float(*v, 0.01f, 100, &f)) s = fail("--repeat-penalty must be 0.01 to 100, got '" + *v + "'");
      o.sampler.repeat_penalty = f;
    } else if (a == "--repeat-last-n") {
      if (s = need("a count"); s.is_ok() && !to_long(*v, 0, 1 << 20, &n)) s = fail("--repeat-last-n must be >= 0, got '" + *v + "'");
      o.sampler.repeat_last_n = int32_t(n);
    } else if (a == "--seed") {
      if (s = need("a seed"); s.is_ok() && !to_long(*v, 0, INT64_MAX, &n)) s = fail("--seed must be >= 0, got '" + *v + "'");
      o.sampler.seed = uint64_t(n);
    } else {
      s = fail("unknown option '" + a + "'");
    }
    if (!s.is_ok()) return s;
  }
  if (o.model_path.empty()) return fail("-m MODEL is required");
  if (o.mode == Mode::Mode_generate && !o.has_prompt && o.load_session.empty())
    return fail("-p PROMPT (or -f FILE, or --load-session FILE) is required");
  if (o.mode == Mode::Mode_tokenize && !o.has_prompt) return fail("-p PROMPT (or -f FILE) is required");
  if (o.mode == Mode::Mode_tokenize && (!o.save_session.empty() || !o.load_session.empty()))
    return fail("tokenize has no session to save or load");
  if (!o.session_bench.empty()) {
    if (o.mode != Mode::Mode_generate) return fail("--session-bench is a generate benchmark");
    if (!o.has_prompt) return fail("--session-bench needs -p PROMPT (the context to save and restore)");
    if (!o.save_session.empty() || !o.load_session.empty())
      return fail("--session-bench saves and restores its own file: drop --save-session and --load-session");
  }
  return o;
}

}  // namespace llm
