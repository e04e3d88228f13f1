// Stopping a running guest from another thread (Wasmtime's interrupt handle
// in spirit). wasm2c 1.0.32 has no fuel or epoch hooks, so an interrupt is a
// signal, kInterruptSignal, sent to the thread that runs the guest: in guest
// code it unwinds the call at once; inside a host call it waits for that call
// to return, so host work is never cut off midway.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <memory>
#include <mutex>
#include <vector>

namespace samepage {

// The real-time signal samepage sends to guest threads (SIGRTMIN + 5). An
// embedder must leave it alone; it never reaches threads samepage did not start.
int interrupt_signal();

class InterruptHandle {
 public:
  static std::shared_ptr<InterruptHandle> create();

  // Ends the guest at the earliest safe point with the trap "interrupted by
  // the host": now in guest code, when its host call returns inside one, at
  // the start of its next call (instantiation included) when idle. Sticky:
  // every later call under this handle is interrupted too. Safe from any
  // thread (not from a signal handler: it takes a mutex).
  void interrupt();
  bool interrupted() const;

 private:
  friend struct InterruptAccess;  // the engine registers the threads it runs calls on
  InterruptHandle() = default;
  mutable std::mutex mutex_;
  bool interrupted_ = false;
  std::vector<pthread_t> threads_;  // guest threads inside a call under this handle
};

}  // namespace samepage
