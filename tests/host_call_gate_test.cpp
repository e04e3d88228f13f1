// Finding 4: a guest whose stack runs out while it calls into the host must
// trap at the host call gate, before host code runs, never by unwinding over
// host frames (a pool lock left held, a job on the unmapped stack). Each
// guest below calls one kind of import at every depth of a deep recursion,
// so the call that finds the stack nearly spent is an import call.
#include <wasm-rt.h>

#include <string>

#include "engine/guarded_call.h"
#include "guest_call/host_call_gate.h"
#include "test_support.h"
#include "test_watchdog.h"

namespace samepage {
namespace {

using namespace std::chrono_literals;

// `deep(n)` recurses n levels, running OP at every level on the way down.
// The recursion goes through call_indirect and adds after the call, so the
// C compiler can turn it into neither a loop nor a tail call.
std::string deep_module(const std::string& imports, const std::string& setup, const std::string& op) {
  return R"((module
  (type $rec (func (param i32) (result i32)))
  )" + imports + R"(
  (memory (export "memory") 8)
  (table 1 funcref)
  (elem (i32.const 0) $down)
  (global $out (mut i32) (i32.const 0))
  (global $x (mut i32) (i32.const 0))
  (global $w (mut i32) (i32.const 0))
  (func $down (type $rec) (param $n i32) (result i32)
    )" + op + R"(
    (if (result i32) (local.get $n)
      (then (i32.add (call_indirect (type $rec) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0))
                     (local.get $n)))
      (else (i32.const 0))))
  (func (export "deep") (param $n i32) (result i32)
    )" + setup + R"(
    (call $down (local.get $n)))
  (func (export "_start")))
)";
}

struct GateCase {
  const char* name;
  std::string wat;
};

std::vector<GateCase> gate_cases() {
  const std::string no_setup;
  // An import that fails traps "unreachable": the shallow run proves the op really ran.
  // x (1, 256) at 4096, out (1, 256) at 8192, w (256, 256) f32 at 65536; shapes at 0 and 8.
  const std::string matmul_setup = R"(
    (i32.store (i32.const 0) (i32.const 1)) (i32.store (i32.const 4) (i32.const 256))
    (i32.store (i32.const 8) (i32.const 256)) (i32.store (i32.const 12) (i32.const 256))
    (global.set $x (call $view (i32.const 4096) (i32.const 0) (i32.const 2) (i32.const 0) (i32.const 0)))
    (global.set $out (call $view (i32.const 8192) (i32.const 0) (i32.const 2) (i32.const 0) (i32.const 0)))
    (global.set $w (call $view (i32.const 65536) (i32.const 0) (i32.const 2) (i32.const 8) (i32.const 0))))";
  return {
      {"wasi_random_get",
       deep_module(R"((import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32))))",
                   no_setup, "(if (call $random (i32.const 64) (i32.const 64)) (then unreachable))")},
      {"samepage_matmul_on_the_cpu_pool",
       deep_module(R"((import "samepage" "tensor_view" (func $view (param i32 i32 i32 i32 i32) (result i32)))
                      (import "samepage" "matmul" (func $matmul (param i32 i32 i32) (result i32))))",
                   matmul_setup, "(if (call $matmul (global.get $out) (global.get $x) (global.get $w)) (then unreachable))")},
      {"memory_grow", deep_module("", no_setup, "(drop (memory.grow (i32.const 1)))")},
      {"table_grow", deep_module("", no_setup, "(drop (table.grow 0 (ref.null func) (i32.const 1)))")},
  };
}

class HostCallGate : public ::testing::TestWithParam<GateCase> {};

TEST_P(HostCallGate, SpentStackTrapsAtTheImportAndTheHostGoesOn) {
  test::Watchdog watchdog(120s, GetParam().name);
  auto module = test::test_engine().load_bytes(test::wat_to_wasm(GetParam().wat), GetParam().name);
  ASSERT_TRUE(module.is_ok()) << module.message();
  InstanceOptions options;
  options.stack_bytes = 256 * 1024;  // a few thousand levels: the imports run at every one
  {
    auto instance = Instance::create(module.value(), options);
    ASSERT_TRUE(instance.is_ok()) << instance.message();
    auto deep = instance.value()->call("deep", {1u << 30});
    ASSERT_TRUE(deep.is_ok()) << deep.message();
    ASSERT_TRUE(deep->trapped());
    EXPECT_NE(deep->message.find("call stack exhausted"), std::string::npos) << deep->message;
  }  // torn down here: a lock left held by an unwind would hang now
  // A second guest in the same process runs the same imports, shallowly, and ends cleanly.
  auto next = Instance::create(module.value(), options);
  ASSERT_TRUE(next.is_ok()) << next.message();
  auto shallow = next.value()->call("deep", {100});
  ASSERT_TRUE(shallow.is_ok()) << shallow.message();
  EXPECT_EQ(shallow->kind, GuestOutcome::Kind::Kind_returned) << shallow->message;
  EXPECT_EQ(shallow->result, 5050u);
}

INSTANTIATE_TEST_SUITE_P(EveryImportKind, HostCallGate, ::testing::ValuesIn(gate_cases()),
                         [](const ::testing::TestParamInfo<GateCase>& info) { return std::string(info.param.name); });

// The gate's rules, on guarded calls whose body plays the import.

// Host code asks for the exit; the unwind waits until the gate is left, after
// the body's objects are destroyed.
int g_destroyed = 0;
struct CountsDestruction {
  ~CountsDestruction() { ++g_destroyed; }
};
void exits_from_inside_host_code(void*) {
  host_call([] {
    CountsDestruction lives_in_host_code;
    guest_request_exit(5);
    return 0;
  });
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);  // not reached: the gate unwound
}

TEST(HostCallGateRules, ExitAskedForInHostCodeHappensAtTheGateAfterDestructors) {
  g_destroyed = 0;
  GuardedCall call;
  call.body = exits_from_inside_host_code;
  ASSERT_TRUE(run_guarded(call).is_ok());
  EXPECT_EQ(call.end, CallEnd::CallEnd_exited);
  EXPECT_EQ(call.exit_code, 5u);
  EXPECT_EQ(g_destroyed, 1);
}

void faults_in_host_code(void*) {
  host_call([] {
    volatile int* nowhere = nullptr;
    return *nowhere;
  });
}
void traps_in_host_code(void*) {
  host_call([] {
    wasm_rt_trap(WASM_RT_TRAP_OOB);
    return 0;
  });
}

// Unwinding over host frames is never a guest trap: the process says why and aborts.
TEST(HostCallGateRulesDeathTest, FaultOrTrapInsideHostCodeAbortsLoudly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  GuardedCall fault;
  fault.body = faults_in_host_code;
  EXPECT_DEATH((void)run_guarded(fault), "fatal: memory fault \\(SIGSEGV\\) in host code called by a guest");
  GuardedCall trap;
  trap.body = traps_in_host_code;
  EXPECT_DEATH((void)run_guarded(trap), "fatal: wasm_rt_trap called inside host code");
}

}  // namespace
}  // namespace samepage
