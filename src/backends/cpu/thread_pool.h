// CPU backend: a small persistent thread pool for data-parallel kernels.
//
// Decode runs ~100 small ops per token, each a few tens of microseconds, so
// waking threads must cost far less than that: workers spin briefly on an
// atomic generation counter before sleeping on it (futex-backed wait), and
// the calling thread does its share of the work instead of idling.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace samepage::cpu {

class ThreadPool {
 public:
  // fn(ctx, begin, end) processes items [begin, end).
  using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);

  // n_threads counts the calling thread; <= 0 means hardware concurrency.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return int(workers_.size()) + 1; }

  // Splits [0, n_items) into chunks of `grain` items, hands them out
  // dynamically to all threads and returns when every chunk is done. Calls
  // from several threads are serialized; a call from inside a task runs
  // inline on that thread (no deadlock, no extra parallelism).
  void run(int64_t n_items, int64_t grain, RangeFn fn, void* ctx);

  template <typename F>
  void parallel_for(int64_t n_items, int64_t grain, F&& f) {
    run(n_items, grain,
        [](void* ctx, int64_t begin, int64_t end) { (*static_cast<F*>(ctx))(begin, end); },
        const_cast<void*>(static_cast<const void*>(&f)));
  }

 private:
  void worker_loop();
  void work_on_chunks();

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one job at a time

  // The current job; written before generation_ is bumped (release), read
  // after it is observed (acquire).
  RangeFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_items_ = 0;
  int64_t grain_ = 1;
  bool stop_ = false;

  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int64_t> next_item_{0};
  alignas(64) std::atomic<int> n_busy_workers_{0};
};

// Rows per chunk so that n_rows splits into about 4 chunks per thread (load
// balance) but no chunk is smaller than min_rows (scheduling overhead).
int64_t grain_for(const ThreadPool& pool, int64_t n_rows, int64_t min_rows);

}  // namespace samepage::cpu
