// samepage generate | tokenize | chat: the LLM guest (guests/llm) run on a
// model file. The host only opens the model's directory as a read-only WASI
// preopen and starts the guest; tokenizing, the forward pass and sampling
// all happen inside it.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli.h"
#include "samepage/backend.h"
#include "samepage/instance.h"

namespace samepage::cli {
namespace {

const char* kGenerateUsage =
    "usage: samepage generate -m MODEL.gguf (-p PROMPT | -f FILE) [options]\n"
    "\n"
    "Continues PROMPT with the model (a GGUF file: Llama-family or Qwen2, weights\n"
    "F32/F16/BF16/Q8_0/Q4_0/Q4_1), streaming the text to stdout as it comes.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE        the GGUF model (its directory is opened read-only)\n"
    "  -p, --prompt TEXT       the prompt (special tokens like <|im_start|> are parsed)\n"
    "  -f, --file FILE         read the prompt from FILE\n"
    "  -n, --n-predict N       tokens to generate (default 256; -1: until the end of\n"
    "                          generation or a full context)\n"
    "  -c, --ctx-size N        KV-cache positions (default min(4096, training context))\n"
    "  --temp T                temperature (default 0: greedy)\n"
    "  --top-k K               keep the K most likely tokens (default 40; 0: all)\n"
    "  --top-p P               keep the smallest set with probability >= P (default 0.95)\n"
    "  --min-p P               drop tokens below P x the best one's probability (default 0.05)\n"
    "  --repeat-penalty R      penalize the last --repeat-last-n tokens (default 1.0: off)\n"
    "  --repeat-last-n N       tokens the penalty looks back over (default 64)\n"
    "  --seed S                sampling seed (default 0; same seed, same tokens)\n"
    "  --stop TEXT             stop when TEXT is generated (repeatable)\n"
    "  --ignore-eos            go on past end-of-generation tokens (for tests, benchmarks)\n"
    "  --backend NAME          cpu, cuda or auto (default auto: cuda when available)\n"
    "  -t, --threads N         CPU backend threads, the caller included (default: every\n"
    "                          CPU this process may run on)\n"
    "  --no-graphs             replay each step op by op, not as one native submission\n"
    "                          (cuda: no CUDA graphs; to measure what graphs gain)\n"
    "  --no-pdl                cuda: launch kernels strictly one after the other (no\n"
    "                          programmatic dependent launch; to measure what it gains)\n"
    "  --no-fusion             cuda: launch every recorded op as its own kernel (no\n"
    "                          fused steps in captured graphs; to measure what they gain)\n"
    "  --batch N               prompt tokens per forward step (default 64; 512 on cuda)\n"
    "  --warmup                run the prompt once untimed first, so --json's prefill\n"
    "                          times the forward steps alone (no recording, capture\n"
    "                          or weight upload)\n"
    "  --ids                   the prompt is token ids (\"1 2 3\"); prints ids\n"
    "  --json                  end with one JSON line of timings\n"
    "  --backend-stats         after the guest ends, one JSON line on stderr with the\n"
    "                          backend's counters (cuda: registration, uploads, graphs)\n"
    "  --save-session FILE     save the state at the end (tokens, KV cache, sampler)\n"
    "                          as a safetensors file; its directory is opened writable\n"
    "  --load-session FILE     continue a saved state (-p is then optional: its text is\n"
    "                          appended); refused unless model, KV dtype and context fit\n"
    "  --session-hash SCOPE    what of the model file a saved session hashes: header\n"
    "                          (default: GGUF header + tensor infos) or file (every byte)\n"
    "  --session-bench FILE    benchmark: prefill the prompt, save it to FILE, re-prefill\n"
    "                          it, restore FILE into the warm model, and a device-memory\n"
    "                          checkpoint of the caches; one JSON line (save, restore,\n"
    "                          re-prefill, checkpoint ms, file bytes, speedups); exit 1\n"
    "                          when restored logits differ from the re-prefilled ones\n"
    "  --help                  this text\n";

const char* kTokenizeUsage =
    "usage: samepage tokenize -m MODEL.gguf -p TEXT [--ids]\n"
    "\n"
    "Prints the tokens of TEXT as the model's tokenizer makes them (BOS first when\n"
    "the model adds one), one `ID -> 'PIECE'` per line; --ids prints [ID, ...].\n";

const char* kChatUsage =
    "usage: samepage chat -m MODEL.gguf [options]\n"
    "\n"
    "A conversation in the model's chat template (ChatML, Llama 3 or Llama 2).\n"
    "On a terminal it prompts with '> '; on a pipe every line is one user turn.\n"
    "The KV cache is kept across turns: only new tokens are computed. Ends at\n"
    "end of input. Options as for generate (-n is per reply), plus:\n"
    "  --system TEXT           a system message\n"
    "  --save-session FILE     save the conversation after every turn\n"
    "  --load-session FILE     continue a saved conversation\n";

// Prompt tokens per forward step on the CUDA backend unless --batch says.
constexpr int kCudaPrefillBatch = 512;

// Flags of the guest that take a value: their values are passed on unread.
const std::set<std::string> kValueFlags = {"-p", "--prompt", "-n", "--n-predict", "-c", "--ctx-size", "--temp",
                                           "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--repeat-last-n",
                                           "--seed", "--batch", "--system", "--stop", "--session-hash"};

// Guests are installed next to the binary (build/guests/), or where $SAMEPAGE_GUEST_DIR says.
std::string llm_guest_dir() {
  if (const char* dir = std::getenv("SAMEPAGE_GUEST_DIR"); dir && *dir) return dir;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (exe.parent_path() / "guests").string();
}

std::string pick_backend(const std::string& wanted) {
  if (wanted != "auto") return wanted;
  for (const BackendEntry& e : backend_registry())
    if (std::string(e.name) == "cuda" && e.probe().available) return "cuda";
  return "cpu";
}

// The llm guest, warm: the artifact the build compiled next to llm.wasm
// (guests/CMakeLists.txt), else llm.wasm through the compile cache.
Result<std::shared_ptr<Module>> load_llm_guest() {
  const std::filesystem::path dir = llm_guest_dir();
  const auto wasm = dir / "llm.wasm", artifact = dir / "llm.so";
  std::error_code ec;
  if (!std::filesystem::exists(wasm, ec))
    return err("llm", "the LLM guest is not built: " + wasm.string() + " is missing");
  EngineOptions options;
  options.host_imports = host_imports();
  const bool fresh_artifact = std::filesystem::exists(artifact, ec) &&
                              std::filesystem::last_write_time(artifact, ec) >= std::filesystem::last_write_time(wasm, ec);
  if (fresh_artifact) {
    // Built by this project's build, owned by this user or root (the engine checks).
    options.allow_precompiled = true;
    Engine engine(options);
    auto module = engine.load_file(artifact.string());
    if (module) return module;
    std::fprintf(stderr, "samepage: the prebuilt LLM guest did not load (%s); using llm.wasm\n",
                 module.message().c_str());
  }
  Engine engine(options);
  auto module = engine.load_file(wasm.string());
  if (module && !module.value()->stats().cache_hit)
    std::fprintf(stderr, "samepage: compiled the LLM guest once (%.1f s); later runs start from the cache\n",
                 (module.value()->stats().translate_ms + module.value()->stats().compile_ms) / 1e3);
  return module;
}

int run_llm(const std::string& mode, const Args& args) {
  const char* usage = mode == "generate" ? kGenerateUsage : mode == "tokenize" ? kTokenizeUsage : kChatUsage;
  if (wants_help(args)) {
    std::fputs(usage, stdout);
    return 0;
  }
  std::string model, backend = "auto", dump, save_session, load_session, session_bench;
  BackendOptions backend_options;
  bool print_stats = false;
  std::vector<std::string> pass;  // flags for the guest
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if ((a == "-m" || a == "--model") && has_value) {
      model = args[++i];
    } else if ((a == "-f" || a == "--file") && has_value) {
      std::ifstream in(args[++i], std::ios::binary);
      if (!in) return fail("cannot read the prompt file " + args[i], 1);
      std::stringstream text;
      text << in.rdbuf();
      pass.insert(pass.end(), {"-p", text.str()});
    } else if (a == "--backend" && has_value) {
      backend = args[++i];
    } else if (a == "-t" || a == "--threads") {
      const std::string v = has_value ? args[++i] : "";
      char* end = nullptr;
      const long n = v.empty() ? -1 : std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > kMaxBackendThreads)
        return fail(a + " needs a thread count from 1 to " + std::to_string(kMaxBackendThreads) + ", got '" + v + "'", 2);
      backend_options.n_threads = int(n);
    } else if (a == "--backend-stats") {
      print_stats = true;
    } else if (a == "--no-graphs") {
      backend_options.native_replay = false;
    } else if (a == "--no-pdl") {
      backend_options.overlap_launches = false;
    } else if (a == "--no-fusion") {
      backend_options.fuse_ops = false;
    } else if (a == "--save-session" || a == "--load-session" || a == "--session-bench") {
      if (!has_value) return fail(a + " needs a file (see samepage " + mode + " --help)", 2);
      (a == "--save-session" ? save_session : a == "--load-session" ? load_session : session_bench) = args[++i];
    } else if (a == "--dump-logits" && has_value) {
      dump = args[++i];  // hidden: f32 logits of every step, for the reference tests
    } else if (kValueFlags.count(a) != 0) {
      if (!has_value) return fail(a + " needs a value (see samepage " + mode + " --help)", 2);
      pass.insert(pass.end(), {a, args[++i]});
    } else if (a.rfind("-", 0) == 0 && a.size() > 1) {
      pass.push_back(a);  // a switch; the guest refuses unknown ones
    } else {
      return fail("unexpected argument '" + a + "' (see samepage " + mode + " --help)", 2);
    }
  }
  if (model.empty()) return fail(mode + " needs -m MODEL.gguf (see samepage " + mode + " --help)", 2);
  std::error_code ec;
  const std::filesystem::path model_path = std::filesystem::canonical(model, ec);
  if (ec || !std::filesystem::is_regular_file(model_path, ec))
    return fail("model " + model + ": no such file", 1);
  if (backend != "auto" && backend != "cpu" && backend != "cuda")
    return fail("--backend must be cpu, cuda or auto, got '" + backend + "'", 2);

  InstanceOptions options;
  options.backend = pick_backend(backend);
  options.backend_options = backend_options;
  // A GPU's prefill is fastest in wide batches (the GEMMs fill its tensor
  // cores); the CPU's in the guest's default of 64.
  if (options.backend == "cuda" && std::find(pass.begin(), pass.end(), "--batch") == pass.end())
    pass.insert(pass.end(), {"--batch", std::to_string(kCudaPrefillBatch)});
  // The guest sees only the model's directory, read-only, as /model.
  options.wasi.preopens.push_back({model_path.parent_path().string(), "/model", false});
  options.wasi.args = {"llm", mode, "-m", "/model/" + model_path.filename().string()};
  if (!dump.empty()) {
    const std::filesystem::path out = std::filesystem::absolute(dump, ec);
    options.wasi.preopens.push_back({out.parent_path().string(), "/out", true});
    options.wasi.args.insert(options.wasi.args.end(), {"--dump-logits", "/out/" + out.filename().string()});
  }
  // A session file is reached through its directory only: read-only to load,
  // writable to save (the guest writes FILE.tmp there, then renames it).
  if (!load_session.empty()) {
    const std::filesystem::path in = std::filesystem::canonical(load_session, ec);
    if (ec || !std::filesystem::is_regular_file(in, ec)) return fail("session " + load_session + ": no such file", 1);
    options.wasi.preopens.push_back({in.parent_path().string(), "/session-in", false});
    options.wasi.args.insert(options.wasi.args.end(), {"--load-session", "/session-in/" + in.filename().string()});
  }
  if (!save_session.empty() && !session_bench.empty())
    return fail("--session-bench saves and restores its own file: drop --save-session", 2);
  for (const std::string* path : {&save_session, &session_bench}) {
    if (path->empty()) continue;
    const char* flag = path == &save_session ? "--save-session" : "--session-bench";
    const std::filesystem::path out = std::filesystem::weakly_canonical(std::filesystem::absolute(*path, ec), ec);
    if (ec || out.filename().empty() || out.filename() == "." || out.filename() == ".." ||
        !std::filesystem::is_directory(out.parent_path(), ec))
      return fail(std::string(flag) + " " + *path + ": not a file name in an existing directory", 1);
    options.wasi.preopens.push_back({out.parent_path().string(), "/session-out", true});
    options.wasi.args.insert(options.wasi.args.end(), {flag, "/session-out/" + out.filename().string()});
  }
  if (mode == "chat" && isatty(STDIN_FILENO)) options.wasi.args.push_back("--tty");
  options.wasi.args.insert(options.wasi.args.end(), pass.begin(), pass.end());

  auto module = load_llm_guest();
  if (!module) return fail(module.message());
  auto instance = Instance::create(module.value(), options);
  if (!instance) return fail(instance.message());
  auto outcome = instance.value()->run();
  std::fflush(stdout);
  if (print_stats)
    std::fprintf(stderr, "%s\n", backend_stats_json(options.backend, instance.value()->backend_stats()).c_str());
  if (!outcome) return fail(outcome.message());
  switch (outcome->kind) {
    case GuestOutcome::Kind::Kind_returned: return 0;
    case GuestOutcome::Kind::Kind_exited: return int(outcome->exit_code & 0xff);
    case GuestOutcome::Kind::Kind_trapped: return fail("the LLM guest " + outcome->message, 134);
  }
  return 1;
}

}  // namespace

int cmd_generate(const Args& args) { return run_llm("generate", args); }
int cmd_tokenize(const Args& args) { return run_llm("tokenize", args); }
int cmd_chat(const Args& args) { return run_llm("chat", args); }

}  // namespace samepage::cli
