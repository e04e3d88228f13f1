// Running guest code so that its failures end the guest, not the host.
//
// A guarded call runs on a thread of its own with a stack that samepage maps
// (so a stack overflow hits a guard we know) and an alternate signal stack.
// Traps raised by generated code (wasm_rt_trap), faults in the guest's
// reservation (out of bounds) or in the stack guard (exhaustion), and WASI
// proc_exit all unwind back to the call with siglongjmp. Host code that the
// guest calls runs behind the host call gate (host_call_gate.h), and no
// unwind ever crosses its frames. A call can be interrupted (interrupt.h):
// by its deadline, through a per-thread CLOCK_MONOTONIC timer, or by an
// InterruptHandle from another thread; both deliver interrupt_signal().
#pragma once

#include <cstdint>
#include <string>

#include "samepage/status.h"

namespace samepage {

class LinearMemory;

enum class CallEnd {
  CallEnd_returned,  // the body returned normally
  CallEnd_exited,    // the guest called proc_exit
  CallEnd_trapped,   // a trap ended the guest
};

// Trap codes beyond wasm2c's wasm_rt_trap_t, raised by samepage itself.
constexpr int kTrapReadOnlyWrite = 64;  // write to file-mapped or const pages
constexpr int kTrapHostError = 65;      // the host ended the guest; see message
constexpr int kTrapExit = 66;           // proc_exit (not a trap: CallEnd_exited)
constexpr int kTrapInterrupted = 67;    // a deadline or an InterruptHandle stopped the guest
constexpr int kTrapFileShrank = 68;     // a file mapped into guest memory shrank under its mapping

class InterruptHandle;

struct GuardedCall {
  void (*body)(void* arg) = nullptr;
  void* arg = nullptr;
  LinearMemory* memory = nullptr;  // faults inside it are the guest's; may be set during the call
  uint64_t stack_bytes = 8ull << 20;    // for guest code; host calls get kHostStackReserveBytes more
  InterruptHandle* interrupt = nullptr;  // lets other threads interrupt the call; may be null
  uint64_t deadline_ns = 0;              // CLOCK_MONOTONIC time the call is interrupted at; 0: none
  uint64_t timeout_ms = 0;               // the limit behind deadline_ns, for the message

  CallEnd end = CallEnd::CallEnd_returned;
  int trap_code = 0;       // valid when trapped
  uint32_t exit_code = 0;  // valid when exited
  std::string message;     // what ended the guest, when it did not return
};

// Runs call.body(call.arg) guarded. The status fails only when samepage could
// not set the call up (thread or stack); guest failures are in call.end.
Status run_guarded(GuardedCall& call);

// Installs the process's SIGSEGV/SIGBUS and interrupt handlers (once; the
// handlers they replace are chained). run_guarded does it itself; host code
// that reads a mapped file outside any guest call (FileView) calls it first,
// so a file that shrinks under it cannot kill the process.
void install_fault_handlers();

// Human-readable name of a trap code (wasm_rt_trap_t or the kTrap* above).
std::string trap_message(int trap_code);

// The memory of the guest running on this thread (set by allocation hooks).
void guarded_call_set_memory(LinearMemory* memory);
// Ends the guest on this thread with kTrapHostError and a message. Takes a
// C string: the unwind skips destructors, so no temporary may own it.
// Only outside host code (generated code, the gate's own frame); host code
// uses guest_request_abort (host_call_gate.h) instead.
[[noreturn]] void guest_abort(const char* message);

// CLOCK_MONOTONIC now, in ns: the clock of GuardedCall::deadline_ns.
uint64_t monotonic_now_ns();
// "500ms", "2s", "1m": a timeout as a person would write it.
std::string format_duration_ms(uint64_t ms);

}  // namespace samepage
