// A loading bar on stderr, drawn only when stderr is a terminal (the host
// passes its own through WASI, so a pipe or a file gets no escape codes).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdio>

namespace llm {

class ProgressBar {
 public:
  explicit ProgressBar(const char* label) : label_(label), on_(isatty(STDERR_FILENO) != 0) {}
  ~ProgressBar() {
    if (on_ && drawn_) std::fprintf(stderr, "\r\033[K");  // the bar goes once loading is over
  }
  void update(size_t done, size_t total) {
    if (!on_ || total == 0) return;
    constexpr int kWidth = 30;
    const int filled = int(done * kWidth / total);
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    std::fprintf(stderr, "\r%s [%s] %zu/%zu", label_, bar, done, total);
    std::fflush(stderr);
    drawn_ = true;
  }
  // For ModelOptions::progress.
  static void callback(void* bar, size_t done, size_t total) { static_cast<ProgressBar*>(bar)->update(done, total); }

 private:
  const char* label_;  // what is loading
  bool on_;            // stderr is a terminal
  bool drawn_ = false;
};

}  // namespace llm
