// Finding 6: a guest's run time is bounded. A timeout (InstanceOptions::limits
// .timeout_ms) or Instance::interrupt() from another thread stops it with the
// trap "interrupted", in _start, in a start function, and, when it is inside
// a host call, only after that call has returned.
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "test_support.h"
#include "test_watchdog.h"

namespace samepage {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::shared_ptr<Module> load_wat(const std::string& wat, const std::string& name) {
  auto module = test::test_engine().load_bytes(test::wat_to_wasm(wat), name);
  EXPECT_TRUE(module.is_ok()) << module.message();
  return module.is_ok() ? module.value() : nullptr;
}

// _start and spin() loop forever; start_spin's start function does too.
const char* kSpin = R"((module (memory (export "memory") 1)
  (func (export "_start") (loop $l (br $l)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))))";
const char* kStartSpin = R"((module (memory (export "memory") 1)
  (func $s (loop $l (br $l))) (start $s) (func (export "_start"))))";

// An instance of kSpin with default options; null (and a failure noted) if
// it cannot be made.
std::unique_ptr<Instance> spin_instance() {
  auto module = load_wat(kSpin, "spin");
  if (!module) return nullptr;
  auto instance = Instance::create(module, {});
  EXPECT_TRUE(instance.is_ok()) << instance.message();
  return instance.is_ok() ? std::move(instance).value() : nullptr;
}

TEST(Interrupt, TimeoutStopsAnEndlessStart) {
  test::Watchdog watchdog(60s);
  auto module = load_wat(kSpin, "spin");
  ASSERT_TRUE(module);
  InstanceOptions options;
  options.limits.timeout_ms = 200;
  auto instance = Instance::create(module, options);
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  const auto t0 = Clock::now();
  auto run = instance.value()->run();
  ASSERT_TRUE(run.is_ok()) << run.message();
  EXPECT_TRUE(run->trapped());
  EXPECT_EQ(run->message, "trap: interrupted (timeout 200ms)");
  EXPECT_GE(seconds_since(t0), 0.19);
  EXPECT_LT(seconds_since(t0), 10.0);
  // The instance has ended; another one runs.
  EXPECT_FALSE(instance.value()->call("add", {1, 2}).is_ok());
  auto next = Instance::create(module, options);
  ASSERT_TRUE(next.is_ok());
  auto sum = next.value()->call("add", {1, 2});
  ASSERT_TRUE(sum.is_ok());
  EXPECT_EQ(sum->result, 3u);
}

TEST(Interrupt, TimeoutStopsAnEndlessStartFunctionInsideCreate) {
  test::Watchdog watchdog(60s);
  auto module = load_wat(kStartSpin, "start_spin");
  ASSERT_TRUE(module);
  InstanceOptions options;
  options.limits.timeout_ms = 200;
  GuestOutcome ended;
  auto instance = Instance::create(module, options, &ended);
  ASSERT_FALSE(instance.is_ok());
  EXPECT_NE(instance.message().find("interrupted (timeout 200ms)"), std::string::npos) << instance.message();
  EXPECT_TRUE(ended.trapped());
  EXPECT_EQ(ended.message, "trap: interrupted (timeout 200ms)");
}

TEST(Interrupt, FromAnotherThreadStopsARunningCall) {
  test::Watchdog watchdog(60s);
  const std::unique_ptr<Instance> instance = spin_instance();
  ASSERT_TRUE(instance);
  Instance* inst = instance.get();
  std::thread stopper([inst] {
    std::this_thread::sleep_for(100ms);
    inst->interrupt();
  });
  auto spin = inst->call("spin");
  stopper.join();
  ASSERT_TRUE(spin.is_ok()) << spin.message();
  EXPECT_TRUE(spin->trapped());
  EXPECT_EQ(spin->message, "trap: interrupted by the host");
  EXPECT_TRUE(inst->ended());
}

// A snapshot is taken between calls: one asked for while a call runs on
// another thread is refused (the save holds the instance as a call does).
TEST(Interrupt, SnapshotDuringARunningCallIsRefused) {
  test::Watchdog watchdog(60s);
  const std::unique_ptr<Instance> instance = spin_instance();
  ASSERT_TRUE(instance);
  Instance* inst = instance.get();
  ASSERT_TRUE(inst->snapshot_bytes().is_ok());  // idle: a snapshot is taken
  // The call may find a save in progress and is then refused: it tries again.
  std::thread caller([inst] {
    for (;;) {
      auto r = inst->call("spin");
      if (r.is_ok() || r.message().find("already running") == std::string::npos) return;
    }
  });
  // Saves until one finds the call running (it spins until interrupted).
  Result<std::vector<uint8_t>> during = inst->snapshot_bytes();
  for (const auto t0 = Clock::now(); during.is_ok() && seconds_since(t0) < 30;) {
    std::this_thread::sleep_for(5ms);
    during = inst->snapshot_bytes();
  }
  inst->interrupt();
  caller.join();
  ASSERT_FALSE(during.is_ok());
  EXPECT_NE(during.message().find("a call is running"), std::string::npos) << during.message();
}

TEST(Interrupt, HandleTakenBeforeCreateStopsTheStartFunction) {
  test::Watchdog watchdog(60s);
  auto module = load_wat(kStartSpin, "start_spin");
  ASSERT_TRUE(module);
  InstanceOptions options;
  options.interrupt = InterruptHandle::create();
  std::thread stopper([handle = options.interrupt] {
    std::this_thread::sleep_for(100ms);
    handle->interrupt();
  });
  GuestOutcome ended;
  auto instance = Instance::create(module, options, &ended);
  stopper.join();
  ASSERT_FALSE(instance.is_ok());
  EXPECT_EQ(ended.message, "trap: interrupted by the host");
}

TEST(Interrupt, WhileIdleStopsTheNextCallAtItsStart) {
  const std::unique_ptr<Instance> instance = spin_instance();
  ASSERT_TRUE(instance);
  instance->interrupt();  // nothing runs: the next call must not start either
  auto sum = instance->call("add", {1, 2});
  ASSERT_TRUE(sum.is_ok()) << sum.message();
  EXPECT_EQ(sum->message, "trap: interrupted by the host");
}

// The guest sleeps 600 ms in poll_oneoff, writes 1 at address 0 and spins.
// Interrupted 100 ms into the sleep, the sleep must still finish (the host
// call completes and reports its event) and the guest stop right after it,
// before the store.
TEST(Interrupt, InsideAHostCallWaitsForTheCallToReturn) {
  test::Watchdog watchdog(60s);
  auto module = load_wat(R"((module
    (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "_start")
      (i64.store (i32.const 256) (i64.const 7))           ;; userdata
      (i32.store8 (i32.const 264) (i32.const 0))          ;; a clock subscription
      (i32.store (i32.const 272) (i32.const 1))           ;; CLOCK_MONOTONIC
      (i64.store (i32.const 280) (i64.const 600000000))   ;; 600 ms, relative
      (i64.store (i32.const 288) (i64.const 0))
      (i32.store16 (i32.const 296) (i32.const 0))
      (drop (call $poll (i32.const 256) (i32.const 512) (i32.const 1) (i32.const 640)))
      (i32.store (i32.const 0) (i32.const 1))
      (loop $l (br $l)))))",
                         "sleep_then_spin");
  ASSERT_TRUE(module);
  InstanceOptions options;
  options.limits.timeout_ms = 100;
  auto instance = Instance::create(module, options);
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  const auto t0 = Clock::now();
  auto run = instance.value()->run();
  const double seconds = seconds_since(t0);
  ASSERT_TRUE(run.is_ok()) << run.message();
  EXPECT_EQ(run->message, "trap: interrupted (timeout 100ms)");
  EXPECT_GE(seconds, 0.59) << "the host call was cut short";
  EXPECT_LT(seconds, 10.0);
  const uint8_t* mem = instance.value()->memory()->base();
  uint32_t n_events = 0, marker = 0;
  uint64_t userdata = 0;
  std::memcpy(&n_events, mem + 640, 4);
  std::memcpy(&userdata, mem + 512, 8);
  std::memcpy(&marker, mem, 4);
  EXPECT_EQ(n_events, 1u) << "poll_oneoff did not complete";
  EXPECT_EQ(userdata, 7u);
  EXPECT_EQ(marker, 0u) << "the guest ran on after the host call";
}

// Deadlines that expire as calls end, and interrupts aimed at instances whose
// calls are ending: the signal must never reach a finished thread or a
// finished call, and every call ends one way or the other.
TEST(Interrupt, RacesWithCallsEndingAreHarmless) {
  test::Watchdog watchdog(120s);
  auto module = load_wat(kSpin, "spin");
  ASSERT_TRUE(module);
  std::atomic<bool> done{false};
  std::shared_ptr<InterruptHandle> current = InterruptHandle::create();
  std::mutex current_mutex;
  std::thread stopper([&] {
    while (!done) {
      std::shared_ptr<InterruptHandle> h;
      {
        std::lock_guard<std::mutex> lock(current_mutex);
        h = current;
      }
      h->interrupt();
      std::this_thread::sleep_for(50us);
    }
  });
  int n_returned = 0, n_interrupted = 0;
  for (int i = 0; i < 300; ++i) {
    InstanceOptions options;
    options.limits.timeout_ms = 1;
    options.interrupt = InterruptHandle::create();
    if (i % 2 == 0) {
      std::lock_guard<std::mutex> lock(current_mutex);
      current = options.interrupt;
    }
    GuestOutcome ended;
    auto instance = Instance::create(module, options, &ended);
    if (!instance) {
      EXPECT_NE(ended.message.find("interrupted"), std::string::npos) << instance.message();
      ++n_interrupted;
      continue;
    }
    auto sum = instance.value()->call("add", {uint64_t(i), 1});
    ASSERT_TRUE(sum.is_ok()) << sum.message();
    if (sum->trapped()) {
      EXPECT_NE(sum->message.find("interrupted"), std::string::npos) << sum->message;
      ++n_interrupted;
    } else {
      EXPECT_EQ(sum->result, uint64_t(i) + 1);
      ++n_returned;
    }
  }
  done = true;
  stopper.join();
  EXPECT_EQ(n_returned + n_interrupted, 300);
  std::printf("returned %d, interrupted %d\n", n_returned, n_interrupted);
}

}  // namespace
}  // namespace samepage
