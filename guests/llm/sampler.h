// Picks the next token from logits: repetition penalty over the last N
// tokens, then greedy, or top-k → top-p → min-p → temperature → a draw from
// the remaining distribution with the sampler's own seeded PRNG (the same
// seed and logits give the same tokens on every machine). Also: stop strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llm {

struct SamplerOptions {
  float temperature = 0.0f;    // <= 0: greedy
  int32_t top_k = 40;          // <= 0: every token
  float top_p = 0.95f;         // 1: off
  float min_p = 0.05f;         // 0: off; keeps p >= min_p * p(best)
  float repeat_penalty = 1.0f; // 1: off; logit / r when positive, * r when negative
  int32_t repeat_last_n = 64;  // tokens the penalty looks back over
  uint64_t seed = 0;
};

// splitmix64: small, fast and the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();
  double next_unit();  // uniform in [0, 1)
  uint64_t state() const { return state_; }  // a session saves it and restores it
  void set_state(uint64_t state) { state_ = state; }

 private:
  uint64_t state_;
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);
  const SamplerOptions& options() const { return options_; }
  // Greedy without penalty: the device's argmax is the answer, no logits needed.
  bool device_argmax_suffices() const { return options_.temperature <= 0.0f && options_.repeat_penalty == 1.0f; }
  // The next token from logits (n_vocab f32); does not record it (accept does).
  int32_t sample(const float* logits, size_t n_vocab);
  // Adds a token (prompt or generated) to the penalty's history.
  void accept(int32_t token);
  void reset() { history_.clear(); }
  // A session's sampler state: the PRNG and the penalty's window (trimmed to
  // this sampler's repeat_last_n, newest kept).
  uint64_t rng_state() const { return rng_.state(); }
  const std::vector<int32_t>& window() const { return history_; }
  void restore(uint64_t rng_state, const std::vector<int32_t>& window);

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  SamplerOptions options_;
  Rng rng_;
  std::vector<int32_t> history_;       // the last repeat_last_n tokens, oldest first
  std::vector<Candidate> candidates_;  // scratch, (n_vocab)
  std::vector<float> penalized_;       // scratch, (n_vocab)
  std::vector<double> probabilities_;  // scratch, (kept candidates): reused, not allocated per token
  std::vector<double> weights_;        // scratch, (kept candidates)
};

// Holds back generated text that might be the start of a stop string.
class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // Appends text; returns what may be shown now. Once a stop string is
  // complete, stopped() is true and the text before it has been returned.
  std::string push(std::string_view text);
  // What is held back, when generation ends for another reason.
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // text not yet returned
  bool stopped_ = false;
};

}  // namespace llm
