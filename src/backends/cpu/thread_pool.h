// CPU backend: a small persistent thread pool for data-parallel kernels.
//
// Decode runs ~100 small ops per token, each a few tens of microseconds, so
// handing out work must cost far less than that: workers spin briefly on an
// atomic generation counter before sleeping on a condition variable, and the
// calling thread does its share instead of idling. A job is closed as soon
// as all its chunks are claimed, so a worker that the OS has not scheduled
// (several guests, each with a pool, on one machine) is never waited for;
// only workers that joined the job are.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace samepage::cpu {

class ThreadPool {
 public:
  // fn(ctx, begin, end) processes items [begin, end).
  using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);

  // n_threads counts the calling thread; <= 0 means default_thread_count().
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return int(workers_.size()) + 1; }

  // Splits [0, n_items) into chunks of `grain` items, hands them out
  // dynamically to the threads and returns when every chunk is done. Calls
  // from several threads are serialized; a call from inside a task runs
  // inline on that thread (no deadlock, no extra parallelism).
  void run(int64_t n_items, int64_t grain, RangeFn fn, void* ctx);

  template <typename F>
  void parallel_for(int64_t n_items, int64_t grain, F&& f) {
    using Fn = std::remove_reference_t<F>;
    run(n_items, grain, [](void* ctx, int64_t begin, int64_t end) { (*static_cast<Fn*>(ctx))(begin, end); },
        const_cast<void*>(static_cast<const void*>(&f)));
  }

 private:
  void worker_loop();
  void work_on_chunks();

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one job at a time

  // The current job: written while the job is closed, read by workers only
  // between joining an open job and leaving it.
  RangeFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_items_ = 0;
  int64_t grain_ = 1;

  std::mutex sleep_mutex_;           // guards sleeping on the two condition variables
  std::condition_variable wake_cv_;  // a job opened, or stop
  std::condition_variable done_cv_;  // n_joined_ reached 0

  // Even: a job is open under this id; odd: closed (no job, or all claimed).
  static constexpr uint64_t kInitialGeneration = 1;
  alignas(64) std::atomic<uint64_t> generation_{kInitialGeneration};
  alignas(64) std::atomic<int64_t> next_item_{0};
  alignas(64) std::atomic<int> n_joined_{0};  // workers inside the current job
  std::atomic<bool> stop_{false};
};

// CPUs this process may use (its affinity mask), at least 1.
int default_thread_count();

// Rows per chunk so that n_rows splits into about 4 chunks per thread (load
// balance) but no chunk is smaller than min_rows (scheduling overhead).
int64_t grain_for(const ThreadPool& pool, int64_t n_rows, int64_t min_rows);

}  // namespace samepage::cpu
