// The module pipeline as an attacker meets it: names that are C, native
// artifacts passed as modules, a cache directory others can write, and
// modules that would make translation run away.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "engine/wasm_reader.h"
#include "test_support.h"
#include "wasm_test_helpers.h"

namespace samepage {
namespace {

namespace fs = std::filesystem;
using wasm_test::append;
using wasm_test::Bytes;
using wasm_test::cat;
using wasm_test::leb;
using wasm_test::section;

Bytes name_bytes(const std::string& name) {
  Bytes out = leb(name.size());
  out.insert(out.end(), name.begin(), name.end());
  return out;
}

// One memory and one function () -> i32 per name, function i returning
// 100 + i and exported under names[i]; plus a name section and a custom
// section carrying `custom_text`.
Bytes module_exporting(const std::vector<std::string>& names, const std::string& custom_text = "") {
  Bytes funcs = leb(names.size()), exports = leb(names.size()), code = leb(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    funcs.push_back(0x00);
    append(exports, cat({name_bytes(names[i]), {0x00}, leb(i)}));
    const Bytes body = {0x00, 0x41, static_cast<uint8_t>(0x80 | ((100 + i) & 0x7f)),
                        static_cast<uint8_t>((100 + i) >> 7), 0x0b};
    append(code, cat({leb(body.size()), body}));
  }
  Bytes names_payload = cat({name_bytes("name"), {0x01}});
  Bytes func_names = leb(names.size());
  for (size_t i = 0; i < names.size(); ++i) append(func_names, cat({leb(i), name_bytes(custom_text + "fn")}));
  append(names_payload, cat({leb(func_names.size()), func_names}));
  return wasm_test::module_of({section(1, {0x01, 0x60, 0x00, 0x01, 0x7f}), section(3, funcs),
                               wasm_test::memory_section_1page(), section(7, exports), section(10, code),
                               section(0, names_payload), section(0, cat({name_bytes("x*/y"), name_bytes(custom_text)}))});
}

EngineOptions private_cache() {
  EngineOptions options = test::engine_options();
  options.cache_dir = test::make_temp_dir();
  return options;
}

std::string only_cache_entry(const std::string& dir) {
  std::string found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".so") found = e.path().string();
  EXPECT_FALSE(found.empty()) << "no cache entry in " << dir;
  return found;
}

// Finding 1: wasm2c wrote export names verbatim into C comments. The
// guard keeps the injected constructor to one definition, though wasm2c
// writes the name into both guest.h and guest.c.
TEST(EngineSecurity, ExportNameCannotInjectAConstructor) {
  unsetenv("SP_INJECTED_RAN");
  const std::string evil =
      "x */\n#ifndef SP_ONCE\n#define SP_ONCE\n__attribute__((constructor)) static void sp_injected(void) { "
      "extern int setenv(const char*, const char*, int); setenv(\"SP_INJECTED_RAN\", \"1\", 1); }\n#endif\n/* y";
  EngineOptions options = private_cache();
  Engine engine(options);
  auto module = engine.load_bytes(module_exporting({evil, "plain"}), "evil");
  EXPECT_EQ(std::getenv("SP_INJECTED_RAN"), nullptr) << "the export name's constructor ran in the host";
  ASSERT_TRUE(module.is_ok()) << module.message();
  auto instance = Instance::create(module.value(), {});
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  auto result = instance.value()->call(evil);
  ASSERT_TRUE(result.is_ok()) << result.message();
  EXPECT_EQ(result->result, 100u);
  fs::remove_all(options.cache_dir);
}

// The one-line form: it must be nothing but a name.
TEST(EngineSecurity, OneLineConstructorExportIsJustAName) {
  const std::string evil = "*/ __attribute__((constructor)) static void x(void){ __builtin_trap(); } /*";
  EngineOptions options = private_cache();
  Engine engine(options);
  auto module = engine.load_bytes(module_exporting({"plain", evil}), "evil");
  ASSERT_TRUE(module.is_ok()) << module.message();
  auto instance = Instance::create(module.value(), {});
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  auto result = instance.value()->call(evil);
  ASSERT_TRUE(result.is_ok()) << result.message();
  EXPECT_EQ(result->result, 101u);
  fs::remove_all(options.cache_dir);
}

TEST(EngineSecurity, ExportNameCannotIncludeAHostFile) {
  const std::string dir = test::make_temp_dir();
  const std::string secret = dir + "/secret.txt";
  std::ofstream(secret) << "SP_SECRET_CONTENT_4242 must never be shown;\n";
  const std::string evil = "a */\n#include \"" + secret + "\"\n/* b";
  EngineOptions options = private_cache();
  Engine engine(options);
  auto module = engine.load_bytes(module_exporting({evil}, "\n#include \"" + secret + "\"\n"), "include");
  if (!module.is_ok()) {
    EXPECT_EQ(module.message().find("SP_SECRET_CONTENT_4242"), std::string::npos) << module.message();
  }
  ASSERT_TRUE(module.is_ok()) << module.message();
  auto instance = Instance::create(module.value(), {});
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  auto result = instance.value()->call(evil);
  ASSERT_TRUE(result.is_ok()) << result.message();
  EXPECT_EQ(result->result, 100u);
  fs::remove_all(dir);
  fs::remove_all(options.cache_dir);
}

TEST(EngineSecurity, OddExportNamesStayCallableByTheirRealNames) {
  const std::vector<std::string> names = {"",   "with space", "quote\"",   "back\\slash", "?\?/",
                                          "new\nline", "\xc3\xbcnic\xc3\xb6" "de", "*/", "e1", "e0",
                                          "nul", std::string("nul\0byte", 8)};
  EngineOptions options = private_cache();
  Engine engine(options);
  auto module = engine.load_bytes(module_exporting(names), "odd");
  ASSERT_TRUE(module.is_ok()) << module.message();
  auto instance = Instance::create(module.value(), {});
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  for (size_t i = 0; i < names.size(); ++i) {
    auto result = instance.value()->call(names[i]);
    ASSERT_TRUE(result.is_ok()) << printable_name(names[i]) << ": " << result.message();
    EXPECT_EQ(result->result, 100 + i) << printable_name(names[i]);
  }
  fs::remove_all(options.cache_dir);
}

// Finding 3: the cache directory and its entries are where native code comes from.
TEST(EngineSecurity, GroupWritableCacheDirIsRefused) {
  EngineOptions options = private_cache();
  ASSERT_EQ(chmod(options.cache_dir.c_str(), 0770), 0);
  auto module = Engine(options).load_bytes(module_exporting({"f"}), "m");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("writable"), std::string::npos) << module.message();
  fs::remove_all(options.cache_dir);
}

TEST(EngineSecurity, SymlinkedCacheDirIsRefused) {
  const std::string dir = test::make_temp_dir();
  fs::create_directory(dir + "/real");
  fs::create_directory_symlink(dir + "/real", dir + "/link");
  EngineOptions options = test::engine_options();
  options.cache_dir = dir + "/link";
  auto module = Engine(options).load_bytes(module_exporting({"f"}), "m");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("symbolic link"), std::string::npos) << module.message();
  fs::remove_all(dir);
}

// Builds one entry in a private cache, lets `tamper` change it, loads again.
Result<std::shared_ptr<Module>> reload_after(const std::function<void(const std::string& entry)>& tamper,
                                             EngineOptions* options_out = nullptr) {
  EngineOptions options = private_cache();
  const Bytes wasm = module_exporting({"f"});
  {
    auto first = Engine(options).load_bytes(wasm, "m");
    EXPECT_TRUE(first.is_ok()) << first.message();
  }
  tamper(only_cache_entry(options.cache_dir));
  auto again = Engine(options).load_bytes(wasm, "m");
  if (options_out != nullptr) *options_out = options;
  else fs::remove_all(options.cache_dir);
  return again;
}

TEST(EngineSecurity, SymlinkedCacheEntryIsRefused) {
  const std::string elsewhere = test::make_temp_dir();
  auto module = reload_after([&](const std::string& entry) {
    fs::rename(entry, elsewhere + "/planted.so");
    fs::create_symlink(elsewhere + "/planted.so", entry);
  });
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("symbolic link"), std::string::npos) << module.message();
  fs::remove_all(elsewhere);
}

TEST(EngineSecurity, WritableCacheEntryIsRefusedUntilRebuilt) {
  EngineOptions options = test::engine_options();
  auto module = reload_after([](const std::string& entry) { chmod(entry.c_str(), 0666); }, &options);
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("writable"), std::string::npos) << module.message();
  EXPECT_NE(module.message().find("--no-cache"), std::string::npos) << module.message();
  options.use_cache = false;  // a rebuild replaces the bad entry
  ASSERT_TRUE(Engine(options).load_bytes(module_exporting({"f"}), "m").is_ok());
  options.use_cache = true;
  EXPECT_TRUE(Engine(options).load_bytes(module_exporting({"f"}), "m").is_ok());
  fs::remove_all(options.cache_dir);
}

TEST(EngineSecurity, CacheEntryOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  auto module = reload_after([](const std::string& entry) { ASSERT_EQ(chown(entry.c_str(), 4242, 4242), 0); });
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("uid 4242"), std::string::npos) << module.message();
}

// Artifacts are dlopen'ed as /proc/self/fd/N, and glibc finds a loaded
// object by name first: a reused descriptor number must never hand back
// another module's object.
TEST(EngineSecurity, DescriptorNamesAreNeverReusedForAnotherModule) {
  EngineOptions options = private_cache();
  Engine engine(options);
  auto first = engine.load_bytes(module_exporting({"a"}), "a");
  auto second = engine.load_bytes(module_exporting({"a"}), "a");  // the same object, another descriptor
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  first = Status::error("dropped");
  for (int round = 0; round < 3; ++round) {
    const std::string name = "b" + std::to_string(round);
    auto other = engine.load_bytes(module_exporting({"pad", name}), name);
    ASSERT_TRUE(other.is_ok()) << other.message();
    auto instance = Instance::create(other.value(), {});
    ASSERT_TRUE(instance.is_ok()) << instance.message();
    auto result = instance.value()->call(name);
    ASSERT_TRUE(result.is_ok()) << name << ": " << result.message();
    EXPECT_EQ(result->result, 101u);
    if (round == 1) second = Status::error("dropped");
  }
  fs::remove_all(options.cache_dir);
}

// Finding 2: an ELF file is native code that runs when mapped.
TEST(EngineSecurity, ArtifactNeedsAllowPrecompiled) {
  const std::string dir = test::make_temp_dir();
  const std::string artifact = dir + "/hello.so";
  ASSERT_TRUE(test::test_engine().compile_to(test::guest_path("hello"), artifact).is_ok());
  auto refused = test::test_engine().load_file(artifact);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("--allow-precompiled"), std::string::npos) << refused.message();
  EngineOptions options = test::engine_options();
  options.allow_precompiled = true;
  auto allowed = Engine(options).load_file(artifact);
  ASSERT_TRUE(allowed.is_ok()) << allowed.message();
  EXPECT_TRUE(allowed.value()->stats().precompiled);
  fs::create_symlink(artifact, dir + "/link.so");
  auto via_link = Engine(options).load_file(dir + "/link.so");
  ASSERT_FALSE(via_link.is_ok());
  EXPECT_NE(via_link.message().find("symbolic link"), std::string::npos) << via_link.message();
  ASSERT_EQ(chmod(artifact.c_str(), 0664), 0);
  auto writable = Engine(options).load_file(artifact);
  ASSERT_FALSE(writable.is_ok());
  EXPECT_NE(writable.message().find("writable"), std::string::npos) << writable.message();
  fs::remove_all(dir);
}

TEST(EngineSecurity, ForeignSharedObjectIsRefusedBeforeItsConstructorsRun) {
  unsetenv("SP_FOREIGN_RAN");
  const std::string dir = test::make_temp_dir();
  std::ofstream(dir + "/foreign.c") << "#include <stdlib.h>\n"
                                       "__attribute__((constructor)) static void ran(void) { setenv(\"SP_FOREIGN_RAN\", \"1\", 1); }\n";
  ASSERT_EQ(std::system(("cc -shared -fPIC -o " + dir + "/foreign.so " + dir + "/foreign.c").c_str()), 0);
  EngineOptions options = test::engine_options();
  options.allow_precompiled = true;
  auto module = Engine(options).load_file(dir + "/foreign.so");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("not a samepage artifact"), std::string::npos) << module.message();
  EXPECT_EQ(std::getenv("SP_FOREIGN_RAN"), nullptr);
  fs::remove_all(dir);
}

// Finding 9: translation cost is bounded before wasm2c runs.
TEST(EngineSecurity, LimitsRefuseOversizedModulesNamingTheFlag) {
  EngineOptions options = private_cache();
  options.limits.functions = 2;
  auto too_many = Engine(options).load_bytes(module_exporting({"a", "b", "c"}), "m");
  ASSERT_FALSE(too_many.is_ok());
  EXPECT_NE(too_many.message().find("--max-functions"), std::string::npos) << too_many.message();

  options.limits = {};
  options.limits.module_bytes = 16;
  auto too_big = Engine(options).load_bytes(module_exporting({"a"}), "m");
  ASSERT_FALSE(too_big.is_ok());
  EXPECT_NE(too_big.message().find("--max-module-mb"), std::string::npos) << too_big.message();
  auto too_big_file = Engine(options).load_file(test::guest_path("hello"));
  ASSERT_FALSE(too_big_file.is_ok());
  EXPECT_NE(too_big_file.message().find("--max-module-mb"), std::string::npos) << too_big_file.message();

  options.limits = {};
  options.limits.data_bytes = 16;
  const Bytes data_module = wasm_test::module_of(
      {wasm_test::memory_section_1page(), section(11, cat({{0x01, 0x00, 0x41, 0x00, 0x0b}, leb(17), Bytes(17, 'd')}))});
  auto too_much_data = Engine(options).load_bytes(data_module, "m");
  ASSERT_FALSE(too_much_data.is_ok());
  EXPECT_NE(too_much_data.message().find("--max-data-mb"), std::string::npos) << too_much_data.message();
  fs::remove_all(options.cache_dir);
}

TEST(EngineSecurity, DefaultFunctionLimitRefusesARunawayModuleQuickly) {
  const uint32_t n = CompileLimits{}.functions + 1;
  Bytes funcs = leb(n), code = leb(n);
  for (uint32_t i = 0; i < n; ++i) {
    funcs.push_back(0x00);
    append(code, {0x02, 0x00, 0x0b});
  }
  const Bytes wasm = wasm_test::module_of({wasm_test::type_section_void(), section(3, funcs), section(10, code)});
  const auto t0 = std::chrono::steady_clock::now();
  auto module = test::test_engine().load_bytes(wasm, "runaway");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("--max-functions"), std::string::npos) << module.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(EngineSecurity, CompilerPastItsDeadlineIsKilledAndNamed) {
  const std::string dir = test::make_temp_dir();
  std::ofstream(dir + "/slow_cc") << "#!/bin/sh\nsleep 30\n";
  chmod((dir + "/slow_cc").c_str(), 0755);
  EngineOptions options = private_cache();
  options.cc = dir + "/slow_cc";
  options.limits.timeout_s = 2;
  const auto t0 = std::chrono::steady_clock::now();
  auto module = Engine(options).load_bytes(module_exporting({"f"}), "slow");
  ASSERT_FALSE(module.is_ok());
  EXPECT_NE(module.message().find("compiling the module exceeded its 2 s limit (--compile-timeout)"), std::string::npos)
      << module.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  fs::remove_all(dir);
  fs::remove_all(options.cache_dir);
}

TEST(EngineSecurity, CompilerDiagnosticsAreBoundedAndEscaped) {
  const std::string dir = test::make_temp_dir();
  // A "compiler" that fails loudly: 200 lines with terminal escapes.
  std::ofstream(dir + "/loud_cc") << "#!/bin/sh\ni=0\nwhile [ $i -lt 200 ]; do printf 'line %d \\033[31mred\\n' $i; "
                                     "i=$((i+1)); done\nexit 1\n";
  chmod((dir + "/loud_cc").c_str(), 0755);
  EngineOptions options = private_cache();
  options.cc = dir + "/loud_cc";
  auto module = Engine(options).load_bytes(module_exporting({"f"}), "loud");
  ASSERT_FALSE(module.is_ok());
  const std::string& m = module.message();
  EXPECT_LT(m.size(), 1600u) << m;
  EXPECT_EQ(m.find('\033'), std::string::npos) << m;
  EXPECT_NE(m.find("\\x1b"), std::string::npos) << m;
  EXPECT_EQ(m.find("line 100"), std::string::npos) << m;
  fs::remove_all(dir);
  fs::remove_all(options.cache_dir);
}

}  // namespace
}  // namespace samepage
