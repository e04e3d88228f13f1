// Persistent thread pool: spin-then-sleep workers, dynamic chunking.
#include "backends/cpu/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <chrono>

namespace samepage::cpu {

namespace {

// Set while a thread executes pool tasks, so a nested run() goes inline.
thread_local bool t_in_pool_task = false;

// Polling time before a thread sleeps: longer than the gap between two ops of
// one decode step, short enough not to burn a core when the guest is idle.
constexpr auto kSpinTime = std::chrono::microseconds(50);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls until done() holds or kSpinTime passes; returns done().
template <typename Done>
bool spin_until(Done done) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() - start > kSpinTime) return done();
  }
}

}  // namespace

int default_thread_count() {
#if defined(__linux__)
  // The CPUs this process may run on (containers and taskset restrict it);
  // hardware_concurrency counts every online CPU and would oversubscribe.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = default_thread_count();
  workers_.reserve(size_t(n_threads - 1));
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard run_lock(run_mutex_);
    std::lock_guard lock(sleep_mutex_);
    stop_.store(true);
    generation_.fetch_add(2);  // stays odd: nobody joins, everybody wakes
  }
  wake_cv_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::work_on_chunks() {
  const bool was_in_task = t_in_pool_task;
  t_in_pool_task = true;
  for (;;) {
    const int64_t begin = next_item_.fetch_add(grain_, std::memory_order_relaxed);
    if (begin >= n_items_) break;
    fn_(ctx_, begin, std::min(n_items_, begin + grain_));
  }
  t_in_pool_task = was_in_task;
}

void ThreadPool::worker_loop() {
  // The constructor's value, not a fresh load: a thread that starts late must
  // still see the first job, or a stop that came before it ran.
  uint64_t seen = kInitialGeneration;
  for (;;) {
    // Wake on any change (a new job, or stop), then decide.
    // stop_ too: a pool destroyed before this thread first ran must still wake it.
    const auto changed = [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); };
    if (!spin_until(changed)) {
      std::unique_lock lock(sleep_mutex_);
      wake_cv_.wait(lock, changed);
    }
    if (stop_.load()) return;
    seen = generation_.load();
    if (seen % 2 != 0) continue;  // closed before we got here
    // Join, then re-check: the caller closes the job (seq_cst store) before
    // it waits for n_joined_ == 0, so either it sees us or we see it closed.
    n_joined_.fetch_add(1);
    if (generation_.load() == seen) work_on_chunks();
    if (n_joined_.fetch_sub(1) == 1) {
      std::lock_guard lock(sleep_mutex_);  // pairs with the caller's check-then-wait
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t n_items, int64_t grain, RangeFn fn, void* ctx) {
  if (n_items <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (workers_.empty() || n_items <= grain || t_in_pool_task) {
    const bool was_in_task = t_in_pool_task;
    t_in_pool_task = true;
    for (int64_t begin = 0; begin < n_items; begin += grain) fn(ctx, begin, std::min(n_items, begin + grain));
    t_in_pool_task = was_in_task;
    return;
  }
  std::lock_guard run_lock(run_mutex_);
  fn_ = fn;
  ctx_ = ctx;
  n_items_ = n_items;
  grain_ = grain;
  next_item_.store(0, std::memory_order_relaxed);
  {
    // Opening under the sleep mutex: a worker between its check and its wait
    // cannot miss the wake-up.
    std::lock_guard lock(sleep_mutex_);
    generation_.fetch_add(1);  // odd → even: open
  }
  wake_cv_.notify_all();

  work_on_chunks();  // returns once every chunk is claimed
  generation_.fetch_add(1);  // even → odd: closed, late workers stay out

  const auto done = [&] { return n_joined_.load() == 0; };
  if (!spin_until(done)) {
    std::unique_lock lock(sleep_mutex_);
    done_cv_.wait(lock, done);
  }
}

int64_t grain_for(const ThreadPool& pool, int64_t n_rows, int64_t min_rows) {
  const int64_t n_chunks = int64_t(pool.n_threads()) * 4;
  return std::max(min_rows, (n_rows + n_chunks - 1) / n_chunks);
}

}  // namespace samepage::cpu
