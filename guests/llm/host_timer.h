// Guest-side clock for the share of time spent in host calls: every sp_*
// call the model makes goes through time(), and the rest of a token's time
// is guest code (tokenizer, sampler, bookkeeping).
#pragma once

#include <time.h>

#include <cstdint>

namespace llm {

inline uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

class HostTimer {
 public:
  // Runs call() and adds its duration to the total.
  template <typename Fn>
  auto time(Fn call) {
    const uint64_t t0 = now_ns();
    auto result = call();
    ns_ += now_ns() - t0;
    ++n_calls_;
    return result;
  }
  uint64_t ns() const { return ns_; }
  uint64_t n_calls() const { return n_calls_; }

 private:
  uint64_t ns_ = 0;       // total time inside timed calls
  uint64_t n_calls_ = 0;  // how many
};

}  // namespace llm
