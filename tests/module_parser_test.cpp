// The module parser on well-formed modules: what it reads, the features it
// detects, what check_runnable refuses, and real clang-built guests checked
// against wasm-objdump. Malformed input lives in module_parser_malformed_test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <sstream>

#include "samepage/module_info.h"
#include "wasm_test_helpers.h"

namespace samepage {
namespace {

using namespace wasm_test;

constexpr ValType kI32 = ValType::ValType_i32;
constexpr ValType kI64 = ValType::ValType_i64;
constexpr ValType kF64 = ValType::ValType_f64;

const ExportInfo* find_export(const ModuleInfo& info, const std::string& name) {
  for (const ExportInfo& exp : info.exports) {
    if (exp.name == name) return &exp;
  }
  return nullptr;
}

TEST(ModuleParser, ReadsTypesImportsExportsAndMemory) {
  const Bytes wasm = fixture("mvp");
  auto parsed = parse(wasm);
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  const ModuleInfo& info = parsed.value();

  ASSERT_EQ(info.types.size(), 5u);
  EXPECT_EQ(info.types[0], (FuncType{{kI32, kI64}, {kI32}}));

  ASSERT_EQ(info.imports.size(), 4u);
  EXPECT_EQ(info.imports[0].module, "env");
  EXPECT_EQ(info.imports[0].field, "log");
  EXPECT_EQ(info.imports[0].kind, ExternKind::ExternKind_func);
  EXPECT_EQ(info.imports[0].func_type, (FuncType{{kI32, kF64}, {}}));
  EXPECT_EQ(info.imports[1].module, "wasi_snapshot_preview1");
  EXPECT_EQ(info.imports[1].field, "fd_write");
  EXPECT_EQ(info.imports[1].func_type, (FuncType{{kI32, kI32, kI32, kI32}, {kI32}}));
  EXPECT_EQ(info.imports[2].kind, ExternKind::ExternKind_global);
  EXPECT_EQ(info.imports[2].global_type, kI32);
  EXPECT_TRUE(info.imports[2].global_mutable);
  EXPECT_FALSE(info.imports[3].global_mutable);
  EXPECT_EQ(info.import_modules(), (std::vector<std::string>{"env", "wasi_snapshot_preview1"}));

  EXPECT_EQ(info.n_functions, 4u);  // add, init, dispatch, nothing
  EXPECT_EQ(info.n_globals, 3u);
  ASSERT_EQ(info.memories.size(), 1u);
  EXPECT_EQ(info.memories[0].min_pages, 2u);
  EXPECT_TRUE(info.memories[0].has_max);
  EXPECT_EQ(info.memories[0].max_pages, 256u);
  EXPECT_FALSE(info.memories[0].shared);
  EXPECT_FALSE(info.memories[0].is64);
  ASSERT_EQ(info.tables.size(), 1u);
  EXPECT_EQ(info.tables[0].min_entries, 4u);
  EXPECT_FALSE(info.tables[0].has_max);
  EXPECT_TRUE(info.has_start);
  EXPECT_EQ(info.start_function, 3u);  // 2 imported functions, then add, init

  ASSERT_EQ(info.exports.size(), 7u);
  const ExportInfo* add = find_export(info, "add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->kind, ExternKind::ExternKind_func);
  EXPECT_EQ(add->index, 2u);
  EXPECT_EQ(add->func_type, (FuncType{{kI32, kI64}, {kI32}}));
  // An exported import resolves its type through the imported functions.
  const ExportInfo* log = find_export(info, "log");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->index, 0u);
  EXPECT_EQ(log->func_type, (FuncType{{kI32, kF64}, {}}));
  EXPECT_EQ(find_export(info, "memory")->kind, ExternKind::ExternKind_memory);
  EXPECT_EQ(find_export(info, "g")->kind, ExternKind::ExternKind_global);
  EXPECT_EQ(find_export(info, "g")->index, 2u);  // after the two imported globals
  EXPECT_EQ(find_export(info, "table")->kind, ExternKind::ExternKind_table);
}

TEST(ModuleParser, MvpModuleUsesNoFeaturesAndIsRunnable) {
  auto parsed = parse(fixture("mvp"));
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  EXPECT_EQ(parsed->features.simd || parsed->features.threads || parsed->features.memory64 ||
                parsed->features.multi_memory || parsed->features.exceptions || parsed->features.bulk_memory ||
                parsed->features.reference_types || parsed->features.multi_value ||
                parsed->features.sign_extension || parsed->features.saturating_float_to_int ||
                parsed->features.tail_call || parsed->features.extended_const,
            false);
  const Status runnable = check_runnable(parsed.value());
  EXPECT_TRUE(runnable.is_ok()) << runnable.message();
}

TEST(ModuleParser, DescribeModuleReportsImportsExportsMemoryAndVerdict) {
  auto parsed = parse(fixture("mvp"));
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  const std::string report = describe_module(parsed.value());
  EXPECT_NE(report.find("env.log: func (i32, f64) -> ()"), std::string::npos) << report;
  EXPECT_NE(report.find("wasi_snapshot_preview1.fd_write: func (i32, i32, i32, i32) -> i32"), std::string::npos);
  EXPECT_NE(report.find("env.counter: global i32 mutable"), std::string::npos);
  EXPECT_NE(report.find("add: func (i32, i64) -> i32"), std::string::npos);
  EXPECT_NE(report.find("memory: memory 0"), std::string::npos);
  EXPECT_NE(report.find("memory 0: min 2 pages = 131072 bytes (128 KiB), max 256 pages = 16777216 bytes (16 MiB)"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("start function: 3"), std::string::npos);
  EXPECT_NE(report.find("features: none"), std::string::npos);
  EXPECT_EQ(report.substr(report.size() - 14), "runnable: yes\n") << report;

  auto simd = parse(fixture("simd"));
  ASSERT_TRUE(simd.is_ok()) << simd.message();
  const std::string simd_report = describe_module(simd.value());
  EXPECT_NE(simd_report.find("features: simd"), std::string::npos) << simd_report;
  EXPECT_NE(simd_report.find("runnable: no \u2014 module uses SIMD (v128)"), std::string::npos) << simd_report;
  EXPECT_NE(simd_report.find("start function: none"), std::string::npos);
}

struct FeatureCase {
  const char* fixture;
  const char* flags;
  bool FeatureSet::*feature;
  bool runnable;
  const char* refusal;  // expected part of check_runnable's message
};

TEST(ModuleParser, DetectsEachFeatureAndDecidesRunnability) {
  const FeatureCase cases[] = {
      {"simd", "", &FeatureSet::simd, false, "module uses SIMD (v128)"},
      {"simd_type_only", "", &FeatureSet::simd, false, "rebuild the guest without -msimd128"},
      {"threads_shared", "--enable-threads", &FeatureSet::threads, false, "threads (shared memory"},
      {"threads_atomic", "--enable-threads", &FeatureSet::threads, false, "atomic instructions"},
      {"memory64", "--enable-memory64", &FeatureSet::memory64, false, "memory64"},
      {"multi_memory", "--enable-multi-memory", &FeatureSet::multi_memory, false, "2 memories"},
      {"exceptions", "--enable-exceptions", &FeatureSet::exceptions, false, "exception handling"},
      {"tail_call", "--enable-tail-call", &FeatureSet::tail_call, false, "tail calls"},
      {"extended_const", "--enable-extended-const", &FeatureSet::extended_const, false, "extended constant"},
      {"bulk_memory", "", &FeatureSet::bulk_memory, true, ""},
      {"saturating_float", "", &FeatureSet::saturating_float_to_int, true, ""},
      {"sign_extension", "", &FeatureSet::sign_extension, true, ""},
      {"reference_types", "", &FeatureSet::reference_types, true, ""},
      {"multi_value", "", &FeatureSet::multi_value, true, ""},
  };
  for (const FeatureCase& c : cases) {
    SCOPED_TRACE(c.fixture);
    auto parsed = parse(fixture(c.fixture, c.flags));
    ASSERT_TRUE(parsed.is_ok()) << parsed.message();
    EXPECT_TRUE(parsed->features.*c.feature);
    const Status runnable = check_runnable(parsed.value());
    EXPECT_EQ(runnable.is_ok(), c.runnable) << runnable.message();
    if (!c.runnable) {
      EXPECT_NE(runnable.message().find("[engine::check_runnable] "), std::string::npos);
      EXPECT_NE(runnable.message().find(c.refusal), std::string::npos) << runnable.message();
    }
  }
}

TEST(ModuleParser, RefusesSimdWithRebuildAdvice) {
  auto parsed = parse(fixture("simd"));
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  EXPECT_EQ(parsed->exports.at(0).func_type.params, std::vector<ValType>{ValType::ValType_v128});
  EXPECT_EQ(check_runnable(parsed.value()).message(),
            "[engine::check_runnable] module uses SIMD (v128); samepage's wasm2c (WABT 1.0.32) cannot run "
            "SIMD modules: rebuild the guest without -msimd128");
}

TEST(ModuleParser, ReadsSharedAndMemory64Limits) {
  auto shared = parse(fixture("threads_shared", "--enable-threads"));
  ASSERT_TRUE(shared.is_ok()) << shared.message();
  ASSERT_EQ(shared->memories.size(), 1u);
  EXPECT_TRUE(shared->memories[0].shared);
  EXPECT_EQ(shared->memories[0].max_pages, 16u);

  auto m64 = parse(fixture("memory64", "--enable-memory64"));
  ASSERT_TRUE(m64.is_ok()) << m64.message();
  ASSERT_EQ(m64->memories.size(), 1u);
  EXPECT_TRUE(m64->memories[0].is64);
  EXPECT_EQ(m64->memories[0].max_pages, 65537u);  // beyond what a 32-bit memory may declare
}

TEST(ModuleParser, RefusesImportedMemoryAndTable) {
  auto memory = parse(fixture("import_memory"));
  ASSERT_TRUE(memory.is_ok()) << memory.message();
  ASSERT_EQ(memory->imports.size(), 1u);
  EXPECT_EQ(memory->imports[0].kind, ExternKind::ExternKind_memory);
  EXPECT_EQ(memory->imports[0].memory.min_pages, 1u);
  EXPECT_TRUE(memory->memories.empty());
  EXPECT_EQ(check_runnable(memory.value()).message(),
            "[engine::check_runnable] imports memory 'env'.'memory': samepage guests must define their own memory");
  EXPECT_NE(describe_module(memory.value()).find("env.memory: memory min 1 page"), std::string::npos);

  auto table = parse(fixture("import_table"));
  ASSERT_TRUE(table.is_ok()) << table.message();
  EXPECT_EQ(check_runnable(table.value()).message(),
            "[engine::check_runnable] imports table 'env'.'__indirect_function_table': samepage guests must "
            "define their own table");
}

TEST(ModuleParser, EmptyModuleIsValidAndRunnable) {
  auto parsed = parse(module_of({}));
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  EXPECT_TRUE(parsed->imports.empty());
  EXPECT_EQ(parsed->n_functions, 0u);
  EXPECT_TRUE(check_runnable(parsed.value()).is_ok());
  EXPECT_NE(describe_module(parsed.value()).find("memory: none defined"), std::string::npos);
}

TEST(ModuleParser, CustomSectionsMayAppearAnywhere) {
  const Bytes custom = section(0, cat({leb(4), {'n', 'o', 't', 'e'}, {0xde, 0xad}}));
  auto parsed = parse(module_of({custom, type_section_void(), custom, function_section(1), custom,
                                 code_section({{0x00, 0x0b}}), custom}));
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  EXPECT_EQ(parsed->custom_sections, (std::vector<std::string>(4, "note")));
}

TEST(ModuleParser, DeepNestingNeedsNoStack) {
  // 200,000 nested blocks: a recursive decoder would overflow its stack.
  Bytes body;
  for (int i = 0; i < 200000; ++i) append(body, {0x02, 0x40});
  for (int i = 0; i < 200000; ++i) body.push_back(0x0b);
  body.push_back(0x0b);
  auto parsed = parse(one_function_module(body));
  EXPECT_TRUE(parsed.is_ok()) << parsed.message();

  body.pop_back();  // one block left open
  auto unclosed = parse(one_function_module(body));
  ASSERT_FALSE(unclosed.is_ok());
  EXPECT_NE(unclosed.message().find("ends without its final 'end'"), std::string::npos) << unclosed.message();
}

// ---- real guests -----------------------------------------------------------

struct ObjdumpView {
  std::vector<std::string> types;                         // "(i32, i32) -> i32"
  std::vector<std::pair<std::string, std::string>> imports;  // "module.field", type
  std::vector<std::string> exports;                       // "kind index name"
};

// What wasm-objdump -x says, in func_type_to_string's notation ("nil" is "()").
ObjdumpView objdump(const std::string& path) {
  std::string text;
  EXPECT_EQ(run_command("wasm-objdump -x '" + path + "'", &text), 0) << text;
  ObjdumpView view;
  const std::regex section_line(R"(^(\w+)\[\d+\]:$)");
  const std::regex type_line(R"(^ - type\[\d+\] (.*)$)");
  const std::regex import_line(R"(^ - func\[\d+\] sig=(\d+) .*<- (.+)$)");
  const std::regex export_line(R"(^ - (\w+)\[(\d+)\].* -> \"(.*)\"$)");
  std::istringstream lines(text);
  std::string line;
  std::string section;
  std::vector<std::pair<int, std::string>> import_sigs;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, m, section_line)) {
      section = m[1].str();
    } else if (section == "Type" && std::regex_match(line, m, type_line)) {
      view.types.push_back(std::regex_replace(m[1].str(), std::regex("-> nil$"), "-> ()"));
    } else if (section == "Import" && std::regex_match(line, m, import_line)) {
      import_sigs.emplace_back(std::stoi(m[1].str()), m[2].str());
    } else if (section == "Export" && std::regex_match(line, m, export_line)) {
      view.exports.push_back(m[1].str() + " " + m[2].str() + " " + m[3].str());
    }
  }
  for (const auto& [sig, name] : import_sigs) {
    view.imports.emplace_back(name, sig < static_cast<int>(view.types.size()) ? view.types[sig] : "?");
  }
  return view;
}

void expect_guest_matches_objdump(const std::string& wasm_path) {
  const Bytes wasm = read_bytes(wasm_path);
  auto parsed = parse(wasm);
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  const ModuleInfo& info = parsed.value();
  const Status runnable = check_runnable(info);
  EXPECT_TRUE(runnable.is_ok()) << runnable.message();
  EXPECT_EQ(info.memories.size(), 1u);

  const ObjdumpView view = objdump(wasm_path);
  ASSERT_EQ(info.types.size(), view.types.size());
  for (size_t i = 0; i < view.types.size(); ++i) EXPECT_EQ(func_type_to_string(info.types[i]), view.types[i]);
  ASSERT_EQ(info.imports.size(), view.imports.size());
  ASSERT_FALSE(info.imports.empty());
  for (size_t i = 0; i < view.imports.size(); ++i) {
    EXPECT_EQ(info.imports[i].module + "." + info.imports[i].field, view.imports[i].first);
    EXPECT_EQ(func_type_to_string(info.imports[i].func_type), view.imports[i].second);
    EXPECT_EQ(info.imports[i].module, "wasi_snapshot_preview1");
  }
  ASSERT_EQ(info.exports.size(), view.exports.size());
  for (size_t i = 0; i < view.exports.size(); ++i) {
    const ExportInfo& exp = info.exports[i];
    EXPECT_EQ(std::string(extern_kind_name(exp.kind)) + " " + std::to_string(exp.index) + " " + exp.name,
              view.exports[i]);
  }
  const ExportInfo* start = find_export(info, "_start");
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(func_type_to_string(start->func_type), "() -> ()");
}

// Builds a wasm32-wasi guest the way samepage's guests are built.
std::string build_guest(const std::string& compiler, const std::string& file_name, const std::string& source) {
  const std::string dir = temp_dir();
  std::ofstream(dir + "/" + file_name) << source;
  const std::string out = dir + "/guest.wasm";
  std::string log;
  const std::string cmd = compiler + " --target=wasm32-wasi -O2 -fno-exceptions '" + dir + "/" + file_name +
                          "' -o '" + out + "'";
  if (run_command(cmd, &log) != 0) {
    ADD_FAILURE() << cmd << "\n" << log;
    return "";
  }
  return out;
}

TEST(ModuleParser, ParsesClangCGuestLikeWasmObjdump) {
  if (!have_tool("clang-14")) GTEST_SKIP() << "clang-14 not installed";
  const std::string path = build_guest("clang-14", "hello.c",
                                       "#include <stdio.h>\n"
                                       "int main(void) { printf(\"hello %d\\n\", 42); return 0; }\n");
  ASSERT_FALSE(path.empty());
  expect_guest_matches_objdump(path);
  auto parsed = parse(read_bytes(path));
  ASSERT_TRUE(parsed.is_ok());
  bool has_fd_write = false;
  for (const ImportInfo& import : parsed->imports) {
    if (import.field != "fd_write") continue;
    has_fd_write = true;
    EXPECT_EQ(import.func_type, (FuncType{{kI32, kI32, kI32, kI32}, {kI32}}));
  }
  EXPECT_TRUE(has_fd_write);
}

TEST(ModuleParser, ParsesClangCxxIostreamGuestLikeWasmObjdump) {
  if (!have_tool("clang++-14")) GTEST_SKIP() << "clang++-14 not installed";
  const std::string path = build_guest("clang++-14", "hello.cpp",
                                       "#include <iostream>\n#include <string>\n#include <vector>\n"
                                       "int main() {\n"
                                       "  std::vector<std::string> words{\"same\", \"page\"};\n"
                                       "  for (const auto& w : words) std::cout << w << ' ' << 2.5 << std::endl;\n"
                                       "  return 0;\n}\n");
  ASSERT_FALSE(path.empty());
  expect_guest_matches_objdump(path);
}

TEST(ModuleParser, ParsesTheBuiltHelloGuest) {
  const std::string path = test::guest_dir() + "/hello.wasm";
  if (access(path.c_str(), R_OK) != 0) GTEST_SKIP() << path << " not built";
  if (std::system("command -v wasm-objdump >/dev/null 2>&1") != 0) GTEST_SKIP() << "wasm-objdump (WABT) not installed";
  expect_guest_matches_objdump(path);
}

// ---- names -----------------------------------------------------------------

TEST(ModuleInfoNames, FuncTypeToString) {
  EXPECT_EQ(func_type_to_string(FuncType{{kI32, kI64}, {kI32}}), "(i32, i64) -> i32");
  EXPECT_EQ(func_type_to_string(FuncType{}), "() -> ()");
  EXPECT_EQ(func_type_to_string(FuncType{{ValType::ValType_f32}, {kI32, kI64}}), "(f32) -> (i32, i64)");
}

TEST(ModuleInfoNames, ValTypeAndExternKindNames) {
  EXPECT_STREQ(val_type_name(ValType::ValType_f64), "f64");
  EXPECT_STREQ(val_type_name(ValType::ValType_v128), "v128");
  EXPECT_STREQ(val_type_name(ValType::ValType_externref), "externref");
  EXPECT_STREQ(val_type_name(ValType::ValType_funcref), "funcref");
  EXPECT_STREQ(extern_kind_name(ExternKind::ExternKind_memory), "memory");
  EXPECT_STREQ(extern_kind_name(ExternKind::ExternKind_tag), "tag");
}

TEST(ModuleInfoNames, ImportModulesInOrderOfFirstUse) {
  ModuleInfo info;
  for (const char* module : {"wasi_snapshot_preview1", "samepage", "wasi_snapshot_preview1", "env", "samepage"}) {
    ImportInfo import;
    import.module = module;
    info.imports.push_back(import);
  }
  EXPECT_EQ(info.import_modules(), (std::vector<std::string>{"wasi_snapshot_preview1", "samepage", "env"}));
}

}  // namespace
}  // namespace samepage
