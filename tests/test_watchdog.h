// A test's own time limit: a test that hangs (a lock left held by a guest's
// unwind, a call that is never interrupted) fails with a message instead of
// waiting for CTest's limit. Declare it first, so it also covers teardown.
#pragma once

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace samepage::test {

class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit, const char* what = "test")
      : thread_([this, limit, what] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "%s: still running after %llds: hung\n", what,
                         static_cast<long long>(limit.count()));
            std::fflush(stderr);
            _exit(124);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the fields above exist
};

}  // namespace samepage::test
