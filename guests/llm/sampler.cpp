// Sampling in llama.cpp's order (penalty, top-k, top-p, min-p, temperature,
// draw), so the flags behave as their users expect.
#include "sampler.h"

#include <algorithm>
#include <cmath>

namespace llm {

uint64_t Rng::next_u64() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::next_unit() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

Sampler::Sampler(const SamplerOptions& options) : options_(options), rng_(options.seed) {}

void Sampler::accept(int32_t token) {
  if (options_.repeat_last_n <= 0) return;
  history_.push_back(token);
  if (history_.size() > size_t(options_.repeat_last_n)) history_.erase(history_.begin());
}

void Sampler::restore(uint64_t rng_state, const std::vector<int32_t>& window) {
  rng_.set_state(rng_state);
  history_.clear();
  const size_t keep = options_.repeat_last_n > 0 ? size_t(options_.repeat_last_n) : 0;
  const size_t skip = window.size() > keep ? window.size() - keep : 0;
  history_.assign(window.begin() + long(skip), window.end());
}

int32_t Sampler::sample(const float* logits, size_t n_vocab) {
  if (n_vocab == 0) return 0;
  const float* l = logits;
  if (options_.repeat_penalty != 1.0f && !history_.empty()) {
    penalized_.assign(logits, logits + n_vocab);
    // Each distinct recent token once, however often it occurred.
    std::vector<int32_t> seen(history_);
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    for (int32_t id : seen) {
      if (id < 0 || size_t(id) >= n_vocab) continue;
      float& v = penalized_[size_t(id)];
      v = v > 0 ? v / options_.repeat_penalty : v * options_.repeat_penalty;
    }
    l = penalized_.data();
  }
  if (options_.temperature <= 0.0f) {
    size_t best = 0;
    for (size_t i = 1; i < n_vocab; ++i)
      if (l[i] > l[best] || std::isnan(l[best])) best = i;
    return int32_t(best);
  }

  candidates_.resize(n_vocab);
  for (size_t i = 0; i < n_vocab; ++i) candidates_[i] = {int32_t(i), std::isnan(l[i]) ? -INFINITY : l[i]};
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  size_t n = n_vocab;
  if (options_.top_k > 0 && size_t(options_.top_k) < n) {
    n = size_t(options_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + long(n), candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  // Probabilities at temperature 1 decide the top-p and min-p cut (llama.cpp's order).
  std::vector<double>& p = probabilities_;
  p.assign(n, 0.0);
  const double max_logit = candidates_[0].logit;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp(double(candidates_[i].logit) - max_logit);
  for (size_t i = 0; i < n; ++i) p[i] /= sum;
  if (options_.top_p < 1.0f) {
    double cumulative = 0;
    for (size_t i = 0; i < n; ++i) {
      cumulative += p[i];
      if (cumulative >= double(options_.top_p)) {
        n = i + 1;
        break;
      }
    }
  }
  if (options_.min_p > 0.0f) {
    const double floor = double(options_.min_p) * p[0];
    size_t keep = 1;
    while (keep < n && p[keep] >= floor) ++keep;
    n = keep;
  }
  // Temperature, then a draw from what is left.
  double total = 0;
  std::vector<double>& w = weights_;
  w.assign(n, 0.0);
  for (size_t i = 0; i < n; ++i)
    total += w[i] = std::exp((double(candidates_[i].logit) - max_logit) / double(options_.temperature));
  const double r = rng_.next_unit() * total;
  double acc = 0;
  for (size_t i = 0; i < n; ++i) {
    acc += w[i];
    if (r < acc) return candidates_[i].id;
  }
  return candidates_[n - 1].id;
}

std::string StopStrings::push(std::string_view text) {
  if (stopped_) return "";
  pending_.append(text);
  for (const std::string& stop : stops_) {
    if (stop.empty()) continue;
    if (size_t at = pending_.find(stop); at != std::string::npos) {
      stopped_ = true;
      std::string out = pending_.substr(0, at);
      pending_.clear();
      return out;
    }
  }
  // Hold back the longest tail that is a prefix of some stop string.
  size_t hold = 0;
  for (const std::string& stop : stops_) {
    for (size_t len = std::min(stop.size() - (stop.empty() ? 0 : 1), pending_.size()); len > hold; --len) {
      if (pending_.compare(pending_.size() - len, len, stop, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopStrings::flush() {
  std::string out = stopped_ ? "" : pending_;
  pending_.clear();
  return out;
}

}  // namespace llm
