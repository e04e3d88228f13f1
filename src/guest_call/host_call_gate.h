// The host call gate: the one door from generated code into host code.
//
// Every import entry point (WASI, the samepage API) and every wasm_rt_*
// function that does real work runs its host code between host_gate_enter()
// and host_gate_leave(), or through host_call(). The gate keeps unwinds off
// host frames: a guest whose stack is nearly spent traps at the door, before
// any host object exists; while host code runs (host_depth > 0) an interrupt
// only marks itself pending and a fault is a host bug that aborts; a pending
// interrupt or end (proc_exit, host error) unwinds at leave, in the import's
// outermost frame, after the body's objects are destroyed.
//
// Part of the guest-call vocabulary, below the engine (whose wasm_rt_*
// functions pass it) and the parts that implement imports, which may not
// depend on the engine; the engine implements the out-of-line functions
// (guarded_call.cpp).
#pragma once

#include <atomic>
#include <csignal>
#include <cstdint>
#include <type_traits>

namespace samepage {

// Stack that host code may use below an import's entry frame. The guest
// stack is mapped this much larger than InstanceOptions::stack_bytes, so a
// guest keeps the stack it asked for and host calls keep theirs.
constexpr uint64_t kHostStackReserveBytes = 256 * 1024;

// Gate state of the guarded call on this thread; its signal handlers read it.
struct GateState {
  uintptr_t stack_floor = 0;               // host code may not start below guard top + reserve
  volatile sig_atomic_t host_depth = 1;    // > 0: host code (the call's own set-up counts)
  volatile sig_atomic_t pending = 0;       // kGatePending* bits, honoured at depth 0
};
constexpr sig_atomic_t kGatePendingInterrupt = 1;
constexpr sig_atomic_t kGatePendingEnd = 2;  // proc_exit or a host error: see guest_request_*
constexpr sig_atomic_t kGatePendingFileShrank = 4;  // a mapped file shrank under host code (LinearMemory::set_fault_flag)

// initial-exec: read by the signal handlers, which must not allocate;
// constinit: no lazy-init check on every import call.
extern constinit thread_local GateState* tls_gate __attribute__((tls_model("initial-exec")));

// Out of line, both unwind to the call boundary (see guarded_call.cpp).
[[noreturn]] void host_gate_refuse();  // too little stack left: "call stack exhausted"
[[noreturn]] void host_gate_unwind();  // a pending interrupt or end

inline void host_gate_enter() {
  GateState* gate = tls_gate;
  if (gate == nullptr) return;  // not a guest thread (tests call imports directly)
  if (reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) < gate->stack_floor) host_gate_refuse();
  gate->host_depth = gate->host_depth + 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // host work stays after the mark
}

inline void host_gate_leave() {
  GateState* gate = tls_gate;
  if (gate == nullptr) return;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // host work stays before the unmark
  gate->host_depth = gate->host_depth - 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // A signal after the store above unwinds by itself; one before it set pending.
  if (gate->pending != 0 && gate->host_depth == 0) host_gate_unwind();
}

// Runs body() behind the gate and returns its result. body's objects die
// before the unwind; the caller's frame must hold none with a destructor.
template <typename Body>
auto host_call(Body&& body) -> decltype(body()) {
  host_gate_enter();
  if constexpr (std::is_void_v<decltype(body())>) {
    body();
    host_gate_leave();
  } else {
    auto result = body();
    host_gate_leave();
    return result;
  }
}

// Ask, from inside host code, for the guest to end once the gate is left.
// Where host code would call guest_exit / guest_abort, which would unwind
// over its own frames (they abort when called inside host code).
void guest_request_exit(uint32_t exit_code);
void guest_request_abort(const char* message);  // copied

}  // namespace samepage
