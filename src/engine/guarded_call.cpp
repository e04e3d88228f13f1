#include "engine/guarded_call.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <wasm-rt.h>

#include "guest_call/host_call_gate.h"
#include "memory/file_view.h"
#include "samepage/interrupt.h"
#include "samepage/linear_memory.h"

namespace samepage {

constinit thread_local GateState* tls_gate = nullptr;

namespace {

constexpr uint64_t kStackGuardBytes = 1ull << 20;
constexpr uint64_t kAltStackBytes = 256 * 1024;

// Why a call was interrupted (siginfo's si_value; the first one wins).
constexpr int kInterruptByHost = 1;
constexpr int kInterruptByDeadline = 2;

// Per-thread state of the guarded call running on it. initial-exec TLS so the
// signal handlers never allocate.
struct ActiveCall {
  sigjmp_buf jump;
  GuardedCall* call = nullptr;
  const uint8_t* stack_guard_lo = nullptr;
  const uint8_t* stack_guard_hi = nullptr;
  GateState gate;
  int end_code = 0;                              // kTrapExit or kTrapHostError, with kGatePendingEnd
  volatile sig_atomic_t interrupt_reason = 0;    // kInterruptBy*
};
__attribute__((tls_model("initial-exec"))) thread_local ActiveCall* tls_active = nullptr;

struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

// Writes without allocating: these run in signal handlers and before abort().
void write_stderr(const char* text) {
  ssize_t ignored = ::write(STDERR_FILENO, text, strlen(text));
  (void)ignored;
}

// A jump that would cross host frames (a lock held, a job on this stack that
// a pool worker reads) is a host bug: say so and stop, never limp on.
[[noreturn]] void host_bug(const char* what) {
  write_stderr("samepage: fatal: ");
  write_stderr(what);
  write_stderr(" (a samepage bug, not the guest's); aborting\n");
  abort();
}

// Jumps to the call boundary. The landing is host code: an interrupt that
// siglongjmp's mask restore lets in must only mark itself, not jump again.
[[noreturn]] void jump_to_call(ActiveCall* active, int code) {
  active->gate.host_depth = 1;
  siglongjmp(active->jump, code);
}

void chain_to_previous(int sig, siginfo_t* info, void* ucontext) {
  const struct sigaction& prev = sig == SIGSEGV ? g_previous_segv : g_previous_bus;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction != nullptr) {
      prev.sa_sigaction(sig, info, ucontext);
      return;
    }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // Not a guest fault and nobody else handles it: die as the host would have.
  signal(sig, SIG_DFL);
  if (info->si_code <= 0) raise(sig);  // sent, not a fault: returning would not repeat it
}

void on_fault(int sig, siginfo_t* info, void* ucontext) {
  ActiveCall* active = tls_active;
  // A mapped file that shrank: on any thread (a pool worker in a kernel too),
  // its pages past the end become zeros. Guest code traps now; host code goes
  // on reading zeros and the guest call ends at its gate.
  if (sig == SIGBUS && info->si_code > 0 && absorb_lost_file_page(info->si_addr)) {
    if (active != nullptr && active->gate.host_depth == 0) jump_to_call(active, kTrapFileShrank);
    return;
  }
  // A file host code maps to read (a snapshot being restored) shrank: the
  // same zeros, and its owner finds FileView::shrank() set after reading.
  if (sig == SIGBUS && info->si_code > 0 && absorb_lost_view_page(info->si_addr)) return;
  if (active == nullptr) return chain_to_previous(sig, info, ucontext);
  if (info->si_code <= 0) return chain_to_previous(sig, info, ucontext);  // sent by kill, not a fault
  if (active->gate.host_depth > 0)
    host_bug(sig == SIGSEGV ? "memory fault (SIGSEGV) in host code called by a guest"
                            : "bus error (SIGBUS) in host code called by a guest");
  const auto* addr = static_cast<const uint8_t*>(info->si_addr);
  const LinearMemory* memory = active->call->memory;
  if (memory != nullptr && memory->contains(addr)) {
    const bool committed = addr < memory->base() + memory->size_bytes();
    // A committed page that faults was mapped read-only (file-mapped / const).
    jump_to_call(active, committed && sig == SIGSEGV ? kTrapReadOnlyWrite : WASM_RT_TRAP_OOB);
  }
  if (addr >= active->stack_guard_lo && addr < active->stack_guard_hi) jump_to_call(active, WASM_RT_TRAP_EXHAUSTION);
  chain_to_previous(sig, info, ucontext);
}

// Runs on the guest thread only: the timer and InterruptHandle target it by id.
void on_interrupt(int, siginfo_t* info, void*) {
  ActiveCall* active = tls_active;
  if (active == nullptr) return;  // late: the call is already over
  if (active->interrupt_reason == 0) active->interrupt_reason = info->si_value.sival_int;
  if (active->gate.host_depth > 0) {
    active->gate.pending = active->gate.pending | kGatePendingInterrupt;  // the gate unwinds at leave
    return;
  }
  jump_to_call(active, kTrapInterrupted);
}

}  // namespace

void install_fault_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, interrupt_signal());  // no interrupt inside the fault handler
    sigaction(SIGSEGV, &action, &g_previous_segv);
    sigaction(SIGBUS, &action, &g_previous_bus);
    // SA_RESTART: host calls blocked in a syscall go on, and the interrupt waits for them.
    struct sigaction interrupt {};
    interrupt.sa_sigaction = on_interrupt;
    interrupt.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&interrupt.sa_mask);
    sigaction(interrupt_signal(), &interrupt, nullptr);
  });
}

namespace {

// Kept apart from C++ objects: siglongjmp lands here, and no destructor may be skipped.
void run_body_with_jump(ActiveCall* active) {
  const int code = sigsetjmp(active->jump, 1);
  if (code == 0) {
    host_gate_leave();  // into guest code; an interrupt that came during set-up unwinds here
    active->call->body(active->call->arg);
    active->gate.host_depth = 1;  // set-down is host code: a late interrupt only marks itself
    active->call->end = CallEnd::CallEnd_returned;
    return;
  }
  active->gate.pending = 0;  // host_depth is 1 again (jump_to_call)
  if (code == kTrapExit) {
    active->call->end = CallEnd::CallEnd_exited;
  } else {
    active->call->end = CallEnd::CallEnd_trapped;
    active->call->trap_code = code;
  }
}

}  // namespace

// The engine's side of InterruptHandle: which threads run calls under it.
struct InterruptAccess {
  // False when the handle was already interrupted: the call must not start.
  static bool attach(InterruptHandle* handle, pthread_t thread) {
    std::lock_guard<std::mutex> lock(handle->mutex_);
    if (handle->interrupted_) return false;
    handle->threads_.push_back(thread);
    return true;
  }
  // After this no signal from the handle reaches the thread, which may then end.
  static void detach(InterruptHandle* handle, pthread_t thread) {
    std::lock_guard<std::mutex> lock(handle->mutex_);
    auto& threads = handle->threads_;
    threads.erase(std::find_if(threads.begin(), threads.end(), [&](pthread_t t) { return pthread_equal(t, thread); }));
  }
};

namespace {

// A CLOCK_MONOTONIC timer that signals this thread (not the process) at the
// deadline. Deleted by this same thread before it ends, so it never fires at
// a finished thread.
bool arm_deadline(uint64_t deadline_ns, timer_t* timer) {
  struct sigevent event {};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = interrupt_signal();
  event.sigev_value.sival_int = kInterruptByDeadline;
  event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));  // glibc 2.36 lacks the field's name
  if (timer_create(CLOCK_MONOTONIC, &event, timer) != 0) return false;
  struct itimerspec when {};
  when.it_value.tv_sec = static_cast<time_t>(deadline_ns / 1000000000);
  when.it_value.tv_nsec = static_cast<long>(deadline_ns % 1000000000);
  if (when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0) when.it_value.tv_nsec = 1;  // 0 would disarm
  if (timer_settime(*timer, TIMER_ABSTIME, &when, nullptr) != 0) {
    timer_delete(*timer);
    return false;
  }
  return true;
}

void fail_setup(ActiveCall* active, const char* message) {
  active->call->end = CallEnd::CallEnd_trapped;
  active->call->trap_code = kTrapHostError;
  active->call->message = message;
}

void* guest_thread_main(void* arg) {
  auto* active = static_cast<ActiveCall*>(arg);
  // The fault handler runs here when the guest stack itself is exhausted.
  void* alt = mmap(nullptr, kAltStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  stack_t ss{};
  ss.ss_sp = alt;
  ss.ss_size = kAltStackBytes;
  if (alt == MAP_FAILED || sigaltstack(&ss, nullptr) != 0) {
    // Without an alternate stack a stack overflow would kill the host: refuse to run.
    if (alt != MAP_FAILED) munmap(alt, kAltStackBytes);
    fail_setup(active, "[engine::guarded_call] cannot set up the signal stack");
    return nullptr;
  }
  GuardedCall* call = active->call;
  // Before the timer: a deadline already past fires at once and must find the call.
  tls_active = active;
  tls_gate = &active->gate;
  if (call->memory != nullptr) call->memory->set_fault_flag(&active->gate.pending, kGatePendingFileShrank);
  timer_t timer{};
  const bool timed = call->deadline_ns != 0;
  if (timed && !arm_deadline(call->deadline_ns, &timer)) {
    fail_setup(active, "[engine::guarded_call] cannot arm the call's timeout timer");
  } else {
    // A handle interrupted before the call: the call starts, and stops at once.
    const pthread_t self = pthread_self();
    const bool attached = call->interrupt != nullptr && InterruptAccess::attach(call->interrupt, self);
    if (call->interrupt != nullptr && !attached) {
      if (active->interrupt_reason == 0) active->interrupt_reason = kInterruptByHost;
      active->gate.pending = active->gate.pending | kGatePendingInterrupt;
    }
    run_body_with_jump(active);
    if (attached) InterruptAccess::detach(call->interrupt, self);
    if (timed) timer_delete(timer);
  }
  if (call->memory != nullptr) call->memory->set_fault_flag(nullptr, 0);
  tls_gate = nullptr;
  tls_active = nullptr;  // a signal still queued for this thread now finds no call
  stack_t disable{};
  disable.ss_flags = SS_DISABLE;
  sigaltstack(&disable, nullptr);
  munmap(alt, kAltStackBytes);
  return nullptr;
}

std::string interrupted_message(int reason, uint64_t timeout_ms) {
  if (reason == kInterruptByDeadline) return "trap: interrupted (timeout " + format_duration_ms(timeout_ms) + ")";
  return "trap: interrupted by the host";
}

}  // namespace

int interrupt_signal() { return SIGRTMIN + 5; }

std::shared_ptr<InterruptHandle> InterruptHandle::create() {
  return std::shared_ptr<InterruptHandle>(new InterruptHandle());
}

void InterruptHandle::interrupt() {
  std::lock_guard<std::mutex> lock(mutex_);
  interrupted_ = true;
  // Under the mutex: a thread leaves threads_ before it ends, so none of these has ended.
  union sigval value;
  value.sival_int = kInterruptByHost;
  for (pthread_t thread : threads_) pthread_sigqueue(thread, interrupt_signal(), value);
}

bool InterruptHandle::interrupted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return interrupted_;
}

Status run_guarded(GuardedCall& call) {
  const char* where = "engine::guarded_call";
  install_fault_handlers();
  const uint64_t page = host_page_bytes();
  const uint64_t stack_bytes = (call.stack_bytes + kHostStackReserveBytes + page - 1) / page * page;
  const uint64_t total = stack_bytes + kStackGuardBytes;
  auto* region = static_cast<uint8_t*>(
      mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (region == MAP_FAILED) return err(where, std::string("cannot map guest stack: ") + strerror(errno));
  // The stack grows down into this guard; without it an overflow would run into other memory.
  if (mprotect(region, kStackGuardBytes, PROT_NONE) != 0) {
    munmap(region, total);
    return err(where, std::string("cannot protect the guest stack guard: ") + strerror(errno));
  }

  ActiveCall active;
  active.call = &call;
  active.stack_guard_lo = region;
  active.stack_guard_hi = region + kStackGuardBytes;
  active.gate.stack_floor = reinterpret_cast<uintptr_t>(active.stack_guard_hi) + kHostStackReserveBytes;

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_t thread;
  int rc = pthread_attr_setstack(&attr, region + kStackGuardBytes, stack_bytes);
  if (rc == 0) rc = pthread_create(&thread, &attr, guest_thread_main, &active);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    munmap(region, total);
    return err(where, std::string("cannot start guest thread: ") + strerror(rc));
  }
  pthread_join(thread, nullptr);
  munmap(region, total);
  if (call.end == CallEnd::CallEnd_trapped && call.message.empty())
    call.message = call.trap_code == kTrapInterrupted ? interrupted_message(active.interrupt_reason, call.timeout_ms)
                                                      : trap_message(call.trap_code);
  return Status::ok();
}

std::string trap_message(int trap_code) {
  switch (trap_code) {
    case WASM_RT_TRAP_OOB: return "trap: out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "trap: integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "trap: integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "trap: invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "trap: unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "trap: bad indirect call (null, out of range or wrong type)";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "trap: uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION: return "trap: call stack exhausted";
    case kTrapReadOnlyWrite: return "trap: write to read-only guest memory (file-mapped or const)";
    case kTrapHostError: return "trap: ended by the host";
    case kTrapInterrupted: return "trap: interrupted";
    case kTrapFileShrank:
      return "trap: a file mapped into guest memory shrank under its mapping (the lost pages now read as zeros)";
    default: return "trap: unknown code " + std::to_string(trap_code);
  }
}

uint64_t monotonic_now_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string format_duration_ms(uint64_t ms) {
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

void guarded_call_set_memory(LinearMemory* memory) {
  if (tls_active == nullptr) return;
  tls_active->call->memory = memory;
  if (memory != nullptr) memory->set_fault_flag(&tls_active->gate.pending, kGatePendingFileShrank);
}

// ---- unwinding ------------------------------------------------------------

namespace {

// The one way to the call boundary; never from inside host code.
[[noreturn]] void unwind_to_call(int code, const char* who) {
  ActiveCall* active = tls_active;
  if (active == nullptr) host_bug(who);  // no guest on this thread
  if (active->gate.host_depth > 0) host_bug(who);
  jump_to_call(active, code);
}

ActiveCall* active_in_host(const char* who) {
  ActiveCall* active = tls_active;
  if (active == nullptr || active->gate.host_depth == 0) host_bug(who);
  return active;
}

}  // namespace

void guest_abort(const char* message) {
  if (tls_active != nullptr && tls_active->gate.host_depth == 0) tls_active->call->message = message;
  unwind_to_call(kTrapHostError, "guest_abort called inside host code or off a guest thread");
}

void guest_request_exit(uint32_t exit_code) {
  ActiveCall* active = active_in_host("guest_request_exit called outside a host call");
  if (active->gate.pending & kGatePendingEnd) return;  // the first end stands
  active->call->exit_code = exit_code;
  active->end_code = kTrapExit;
  active->gate.pending = active->gate.pending | kGatePendingEnd;
}

void guest_request_abort(const char* message) {
  ActiveCall* active = active_in_host("guest_request_abort called outside a host call");
  if (active->gate.pending & kGatePendingEnd) return;
  active->call->message = message;
  active->end_code = kTrapHostError;
  active->gate.pending = active->gate.pending | kGatePendingEnd;
}

void host_gate_refuse() {
  // Still in the import's entry frame, before any host object: a plain guest trap.
  unwind_to_call(WASM_RT_TRAP_EXHAUSTION, "host_gate_refuse inside host code");
}

void host_gate_unwind() {
  ActiveCall* active = tls_active;
  const sig_atomic_t pending = active->gate.pending;
  const int code = (pending & kGatePendingEnd)          ? active->end_code
                   : (pending & kGatePendingFileShrank) ? kTrapFileShrank
                                                        : kTrapInterrupted;
  unwind_to_call(code, "host_gate_unwind inside host code");
}

}  // namespace samepage

extern "C" void wasm_rt_trap(wasm_rt_trap_t code) {
  samepage::unwind_to_call(code, "wasm_rt_trap called inside host code or off a guest thread");
}
