#include <cstring>
#include <filesystem>

#include "engine/artifact_builder.h"
#include "samepage/module_info.h"
#include "test_support.h"

namespace samepage {
namespace {

using test::load_guest;
using test::run_captured;
using test::with_args;

TEST(Engine, RunsHelloAndPassesArguments) {
  auto module = load_guest("hello");
  ASSERT_TRUE(module);
  auto run = run_captured(module, with_args({"hello", "first", "second"}));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_EQ(run.outcome->kind, GuestOutcome::Kind::Kind_returned);
  EXPECT_NE(run.stdout_text.find("hello from a samepage guest"), std::string::npos) << run.stdout_text;
  EXPECT_NE(run.stdout_text.find("arg 2: second"), std::string::npos) << run.stdout_text;
}

TEST(Engine, SecondLoadComesFromTheCache) {
  EngineOptions options = test::engine_options();
  options.cache_dir = test::make_temp_dir();
  Engine engine(options);
  auto first = engine.load_file(test::guest_path("hello"));
  ASSERT_TRUE(first.is_ok()) << first.message();
  EXPECT_FALSE(first.value()->stats().cache_hit);
  EXPECT_GT(first.value()->stats().compile_ms, 0.0);
  auto second = engine.load_file(test::guest_path("hello"));
  ASSERT_TRUE(second.is_ok()) << second.message();
  EXPECT_TRUE(second.value()->stats().cache_hit);
  EXPECT_EQ(second.value()->stats().compile_ms, 0.0);
  EXPECT_EQ(first.value()->stats().artifact_path, second.value()->stats().artifact_path);
  std::filesystem::remove_all(options.cache_dir);
}

TEST(Engine, CompiledArtifactRunsWithoutTranslation) {
  const std::string dir = test::make_temp_dir();
  const std::string artifact = dir + "/hello.so";
  ASSERT_TRUE(test::test_engine().compile_to(test::guest_path("hello"), artifact).is_ok());
  EngineOptions options = test::engine_options();
  options.allow_precompiled = true;
  auto module = Engine(options).load_file(artifact);
  ASSERT_TRUE(module.is_ok()) << module.message();
  EXPECT_TRUE(module.value()->stats().precompiled);
  auto run = run_captured(module.value(), with_args({"hello"}));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_NE(run.stdout_text.find("hello from a samepage guest"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Engine, RefusesUnknownImportNamingModuleAndField) {
  auto wasm = test::wat_to_wasm(R"((module
      (import "env" "launch_missiles" (func (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call 0 (i32.const 1)))))");
  auto module = test::test_engine().load_bytes(wasm, "bad_import");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("'env'.'launch_missiles'"), std::string::npos) << module.message();
}

TEST(Engine, RefusesImportWithWrongType) {
  auto wasm = test::wat_to_wasm(R"((module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start"))))");
  auto module = test::test_engine().load_bytes(wasm, "wrong_type");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("fd_write"), std::string::npos) << module.message();
  EXPECT_NE(module.message().find("type"), std::string::npos) << module.message();
}

// The engine knows no import of its own: it checks modules against the list
// its caller hands it, and the runtime's list is one such caller's choice.
TEST(Engine, ChecksImportsAgainstTheListItIsHanded) {
  auto wasm = test::wat_to_wasm(R"((module
      (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (drop (call 0)))))");
  EngineOptions options = test::engine_options();
  options.cache_dir = test::make_temp_dir();
  EXPECT_TRUE(Engine(options).load_bytes(wasm, "both").is_ok());

  options.host_imports.clear();
  auto none = Engine(options).load_bytes(wasm, "none");
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.message().find("unknown import 'wasi_snapshot_preview1'.'sched_yield'"), std::string::npos)
      << none.message();

  const ValType i32 = ValType::ValType_i32;
  options.host_imports = {HostImport{"wasi_snapshot_preview1", "sched_yield", FuncType{{}, {i32}}}};
  auto one = Engine(options).load_bytes(wasm, "one");
  ASSERT_FALSE(one.is_ok());
  EXPECT_NE(one.message().find("'wasi_snapshot_preview1'.'proc_exit'"), std::string::npos) << one.message();
  std::filesystem::remove_all(options.cache_dir);
}

// No build-machine path: wasm-rt.h is found beside the library (the build
// copies it there), unless $SAMEPAGE_WASM_RT_INCLUDE names another place.
TEST(Engine, FindsWasmRtHeaderBesideTheLibrary) {
  const char* saved = std::getenv("SAMEPAGE_WASM_RT_INCLUDE");
  const std::string saved_value = saved != nullptr ? saved : "";
  unsetenv("SAMEPAGE_WASM_RT_INCLUDE");
  auto found = resolve_wasm_rt_include(EngineOptions{});
  ASSERT_TRUE(found.is_ok()) << found.message();
  EXPECT_EQ(std::filesystem::path(found.value()).filename(), "wasm-rt");
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(found.value()) / "wasm-rt.h"));

  const std::string empty = test::make_temp_dir();
  setenv("SAMEPAGE_WASM_RT_INCLUDE", empty.c_str(), 1);
  auto refused = resolve_wasm_rt_include(EngineOptions{});
  EXPECT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("SAMEPAGE_WASM_RT_INCLUDE"), std::string::npos) << refused.message();
  if (saved != nullptr) setenv("SAMEPAGE_WASM_RT_INCLUDE", saved_value.c_str(), 1);
  else unsetenv("SAMEPAGE_WASM_RT_INCLUDE");
  std::filesystem::remove_all(empty);
}

TEST(Engine, RefusesSimdModules) {
  auto wasm = test::wat_to_wasm(R"((module
      (memory (export "memory") 1)
      (func (export "_start")
        (v128.store (i32.const 0) (v128.const i32x4 1 2 3 4)))))");
  auto module = test::test_engine().load_bytes(wasm, "simd");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("SIMD"), std::string::npos) << module.message();
}

TEST(Engine, RefusesThreadsModules) {
  auto wasm = test::wat_to_wasm(R"((module
      (memory (export "memory") 1 1 shared)
      (func (export "_start") (drop (i32.atomic.load (i32.const 0))))))", "--enable-threads");
  auto module = test::test_engine().load_bytes(wasm, "threads");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("thread"), std::string::npos) << module.message();
}

TEST(Engine, RefusesGarbage) {
  std::vector<uint8_t> junk = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff};
  auto module = test::test_engine().load_bytes(junk, "junk");
  ASSERT_FALSE(module.is_ok());
  EXPECT_FALSE(module.message().empty());
  auto missing = test::test_engine().load_file("/nonexistent/module.wasm");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("/nonexistent/module.wasm"), std::string::npos);
}

TEST(Instance, CallsExportsWithIntegers) {
  auto module = load_guest("exports");
  ASSERT_TRUE(module);
  auto instance = Instance::create(module, {});
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  auto sum = instance.value()->call("add", {40, 2});
  ASSERT_TRUE(sum.is_ok()) << sum.message();
  EXPECT_EQ(sum->result, 42u);
  auto neg = instance.value()->call("add", {static_cast<uint32_t>(-5), 2});
  ASSERT_TRUE(neg.is_ok());
  EXPECT_EQ(static_cast<int32_t>(neg->result), -3);
  auto product = instance.value()->call("mul64", {1ull << 33, 3});
  ASSERT_TRUE(product.is_ok());
  EXPECT_EQ(product->result, 3ull << 33);
  EXPECT_FALSE(instance.value()->call("add", {1}).is_ok());        // wrong arity
  EXPECT_FALSE(instance.value()->call("no_such_export").is_ok());
}

TEST(Instance, SeveralInstancesHaveTheirOwnMemory) {
  auto module = load_guest("exports");
  ASSERT_TRUE(module);
  auto a = Instance::create(module, {});
  auto b = Instance::create(module, {});
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a.value()->memory()->base(), b.value()->memory()->base());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a.value()->call("bump").is_ok());
  auto bumped_b = b.value()->call("bump");
  ASSERT_TRUE(bumped_b.is_ok());
  EXPECT_EQ(bumped_b->result, 1u);  // b's global state is untouched by a
  const uint32_t addr = static_cast<uint32_t>(a.value()->memory()->size_bytes() - 64);
  ASSERT_TRUE(a.value()->call("poke", {addr, 1234}).is_ok());
  auto seen_in_b = b.value()->call("peek", {addr});
  ASSERT_TRUE(seen_in_b.is_ok());
  EXPECT_EQ(seen_in_b->result, 0u);
  // The host reads the guest's write through the same bytes (one address space).
  int32_t host_view = 0;
  std::memcpy(&host_view, a.value()->memory()->base() + addr, 4);
  EXPECT_EQ(host_view, 1234);
}

TEST(Instance, GuestGrowKeepsTheBase) {
  auto module = load_guest("exports");
  ASSERT_TRUE(module);
  auto instance = Instance::create(module, {});
  ASSERT_TRUE(instance.is_ok());
  LinearMemory* memory = instance.value()->memory();
  uint8_t* base = memory->base();
  const uint32_t pages = memory->pages();
  auto grown = instance.value()->call("grow", {16});
  ASSERT_TRUE(grown.is_ok());
  EXPECT_EQ(grown->result, pages);
  EXPECT_EQ(memory->pages(), pages + 16);
  EXPECT_EQ(memory->base(), base);
  auto refused = instance.value()->call("grow", {70000});  // beyond any maximum
  ASSERT_TRUE(refused.is_ok());
  EXPECT_EQ(static_cast<int32_t>(refused->result), -1);
}

TEST(Instance, GuestWriteToFileMappedMemoryTraps) {
  auto module = load_guest("exports");
  ASSERT_TRUE(module);
  auto instance = Instance::create(module, {});
  ASSERT_TRUE(instance.is_ok());
  ASSERT_TRUE(instance.value()->call("grow", {32}).is_ok());
  LinearMemory* memory = instance.value()->memory();
  const std::string dir = test::make_temp_dir();
  const std::string path = dir + "/ro.bin";
  {
    std::ofstream out(path, std::ios::binary);
    std::vector<char> bytes(1 << 20, 7);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const uint64_t offset = memory->size_bytes() - (1 << 20);
  ASSERT_TRUE(memory->map_file(offset, path, 0, 1 << 20).is_ok());
  auto read = instance.value()->call("peek", {offset});
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read->result, 0x07070707u);
  auto write = instance.value()->call("poke", {offset, 1});
  ASSERT_TRUE(write.is_ok());
  EXPECT_TRUE(write->trapped());
  EXPECT_NE(write->message.find("read-only"), std::string::npos) << write->message;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace samepage

namespace samepage {
namespace {

// A start function runs inside instantiation; host imports it calls must
// already see the guest's memory (and never a half-built instance).
TEST(Instance, StartFunctionMayCallTheHostApi) {
  auto wasm = test::wat_to_wasm(R"((module
      (import "samepage" "stats" (func $stats (param i32) (result i32)))
      (memory (export "memory") 1)
      (global $status (mut i32) (i32.const 99))
      (func $start (global.set $status (call $stats (i32.const 1024))))
      (start $start)
      (func (export "status") (result i32) (global.get $status))))");
  auto module = test::test_engine().load_bytes(wasm, "start_calls_api");
  ASSERT_TRUE(module.is_ok()) << module.message();
  auto instance = Instance::create(module.value(), {});
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  auto status = instance.value()->call("status");
  ASSERT_TRUE(status.is_ok());
  EXPECT_EQ(status->result, 0u);  // stats succeeded: the memory was there
  uint64_t memory_bytes = 0;
  std::memcpy(&memory_bytes, instance.value()->memory()->base() + 1024 + 24, 8);
  EXPECT_EQ(memory_bytes, 65536u);
}

}  // namespace
}  // namespace samepage
