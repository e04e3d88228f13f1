#include "engine/guarded_call.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <wasm-rt.h>

#include "guest_call/guest_context.h"
#include "samepage/linear_memory.h"

namespace samepage {
namespace {

constexpr uint64_t kStackGuardBytes = 1ull << 20;
constexpr uint64_t kAltStackBytes = 256 * 1024;

// Per-thread state of the guarded call running on it. initial-exec TLS so the
// signal handler never allocates.
struct ActiveCall {
  sigjmp_buf jump;
  GuardedCall* call = nullptr;
  const uint8_t* stack_guard_lo = nullptr;
  const uint8_t* stack_guard_hi = nullptr;
};
__attribute__((tls_model("initial-exec"))) thread_local ActiveCall* tls_active = nullptr;

struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

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
  if (active == nullptr) return chain_to_previous(sig, info, ucontext);
  const auto* addr = static_cast<const uint8_t*>(info->si_addr);
  const LinearMemory* memory = active->call->memory;
  if (memory != nullptr && memory->contains(addr)) {
    const bool committed = addr < memory->base() + memory->size_bytes();
    // A committed page that faults was mapped read-only (file-mapped / const).
    siglongjmp(active->jump, committed && sig == SIGSEGV ? kTrapReadOnlyWrite : WASM_RT_TRAP_OOB);
  }
  if (addr >= active->stack_guard_lo && addr < active->stack_guard_hi)
    siglongjmp(active->jump, WASM_RT_TRAP_EXHAUSTION);
  chain_to_previous(sig, info, ucontext);
}

void install_fault_handler_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &g_previous_segv);
    sigaction(SIGBUS, &action, &g_previous_bus);
  });
}

// Kept apart from C++ objects: siglongjmp lands here, and no destructor may be skipped.
void run_body_with_jump(ActiveCall* active) {
  const int code = sigsetjmp(active->jump, 1);
  if (code == 0) {
    active->call->body(active->call->arg);
    active->call->end = CallEnd::CallEnd_returned;
  } else if (code == kTrapExit) {
    active->call->end = CallEnd::CallEnd_exited;
  } else {
    active->call->end = CallEnd::CallEnd_trapped;
    active->call->trap_code = code;
  }
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
    active->call->end = CallEnd::CallEnd_trapped;
    active->call->trap_code = kTrapHostError;
    active->call->message = "[engine::guarded_call] cannot set up the signal stack";
    return nullptr;
  }
  tls_active = active;
  run_body_with_jump(active);
  tls_active = nullptr;
  stack_t disable{};
  disable.ss_flags = SS_DISABLE;
  sigaltstack(&disable, nullptr);
  munmap(alt, kAltStackBytes);
  return nullptr;
}

}  // namespace

Status run_guarded(GuardedCall& call) {
  const char* where = "engine::guarded_call";
  install_fault_handler_once();
  const uint64_t page = host_page_bytes();
  const uint64_t stack_bytes = (call.stack_bytes + page - 1) / page * page;
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
    call.message = trap_message(call.trap_code);
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
    default: return "trap: unknown code " + std::to_string(trap_code);
  }
}

void guarded_call_set_memory(LinearMemory* memory) {
  if (tls_active != nullptr) tls_active->call->memory = memory;
}

void guest_abort(const char* message) {
  ActiveCall* active = tls_active;
  if (active == nullptr) abort();  // programmer error: no guest on this thread
  active->call->message = message;
  siglongjmp(active->jump, kTrapHostError);
}

void guest_exit(uint32_t exit_code) {
  ActiveCall* active = tls_active;
  if (active == nullptr) abort();  // programmer error: no guest on this thread
  active->call->exit_code = exit_code;
  siglongjmp(active->jump, kTrapExit);
}

}  // namespace samepage

extern "C" void wasm_rt_trap(wasm_rt_trap_t code) {
  samepage::ActiveCall* active = samepage::tls_active;
  if (active == nullptr) abort();  // generated code ran outside a guarded call
  siglongjmp(active->jump, code);
}
