// The llm guest's command line (the host's `samepage generate|tokenize|chat`
// passes its flags through): one struct, parsed with every value checked.
#pragma once

#include <string>
#include <vector>

#include "model.h"
#include "sampler.h"
#include "status.h"

namespace llm {

enum class Mode { Mode_generate, Mode_tokenize, Mode_chat };

struct Options {
  Mode mode = Mode::Mode_generate;
  std::string model_path;        // -m, a path inside a preopen
  std::string prompt;            // -p
  bool has_prompt = false;
  int32_t n_predict = 256;       // -n; -1: until end of generation or a full context
  bool ids = false;              // --ids: prompt and output are token ids
  bool json = false;             // --json: a timing line at the end
  bool ignore_eos = false;       // --ignore-eos: end-of-generation tokens do not stop generate
  bool tty = false;              // --tty: stdin is a terminal (chat prompts)
  bool warmup = false;           // --warmup: run the prompt once untimed first (recording, capture, uploads)
  std::string system;            // --system: chat system message
  std::string dump_logits;       // --dump-logits PATH: f32 logits of every step, appended
  std::vector<std::string> stops;  // --stop TEXT (repeatable)
  std::string save_session;      // --save-session PATH: the state after the run (chat: after each turn)
  std::string load_session;      // --load-session PATH: continue from a saved state
  std::string session_bench;     // --session-bench PATH: save, restore and re-prefill the prompt in this process, timed
  std::string session_hash = "header";  // --session-hash header|file: what of the model file a new session hashes
  ModelOptions model;            // -c, --batch, --kv-f32
  SamplerOptions sampler;        // --temp --top-k --top-p --min-p --repeat-penalty --repeat-last-n --seed
};

// args excludes argv[0]; args[0] is the mode. Errors name the flag.
Result<Options> parse_options(const std::vector<std::string>& args);

// "1 2 3" or "1,2,3" → ids; an error names the bad entry.
Result<std::vector<int32_t>> parse_ids(const std::string& text);

}  // namespace llm
