// The module wasm2c sees (module_rewriter.h) and the glue over its output:
// no name a module chose reaches generated C unescaped.
#include <unistd.h>

#include <filesystem>
#include <random>

#include "engine/glue_writer.h"
#include "engine/module_rewriter.h"
#include "engine/wasm_reader.h"
#include "fuzz/module_pipeline_check.h"
#include "test_support.h"
#include "wasm_test_helpers.h"

namespace samepage {
namespace {

namespace fs = std::filesystem;
using pipeline_check::Bytes;
using pipeline_check::ByteSource;

Bytes seed_bytes(std::mt19937& rng, size_t n) {
  Bytes out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

TEST(ModuleRewriter, RenamesExportsDropsCustomSectionsAndKeepsTheRest) {
  std::mt19937 rng(7);
  const Bytes seed = seed_bytes(rng, 256);
  ByteSource src(seed.data(), seed.size());
  const Bytes wasm = pipeline_check::build_hostile_module(src);
  auto before = parse_module(wasm.data(), wasm.size());
  ASSERT_TRUE(before.is_ok()) << before.message();
  ASSERT_FALSE(before->custom_sections.empty());
  auto rewritten = rewrite_for_translation(wasm);
  ASSERT_TRUE(rewritten.is_ok()) << rewritten.message();
  auto after = parse_module(rewritten->data(), rewritten->size());
  ASSERT_TRUE(after.is_ok()) << after.message();
  EXPECT_TRUE(after->custom_sections.empty());
  ASSERT_EQ(after->exports.size(), before->exports.size());
  for (size_t i = 0; i < after->exports.size(); ++i) {
    EXPECT_EQ(after->exports[i].name, "e" + std::to_string(i));
    EXPECT_EQ(after->exports[i].kind, before->exports[i].kind);
    EXPECT_EQ(after->exports[i].index, before->exports[i].index);
  }
  // Every section but the custom and export ones is copied byte for byte.
  auto kept = [](const Bytes& m) {
    std::vector<Bytes> out;
    for (const auto& span : wasm_test::section_spans(m))
      if (span.id != 0 && span.id != 7)
        out.emplace_back(m.begin() + span.payload_start, m.begin() + span.payload_start + span.payload_size);
    return out;
  };
  EXPECT_EQ(kept(wasm), kept(rewritten.value()));
}

TEST(ModuleRewriter, RefusesImportNamesThatAreNotIdentifiers) {
  const Bytes imports = wasm_test::cat({{0x01, 0x03}, {'e', 'n', 'v'}, {0x04}, {'a', '*', '/', 'b'}, {0x00, 0x00}});
  const Bytes wasm = wasm_test::module_of({wasm_test::type_section_void(), wasm_test::section(2, imports)});
  ASSERT_TRUE(parse_module(wasm.data(), wasm.size()).is_ok());
  auto rewritten = rewrite_for_translation(wasm);
  ASSERT_FALSE(rewritten.is_ok());
  EXPECT_NE(rewritten.message().find("not a plain C identifier"), std::string::npos) << rewritten.message();
}

TEST(GlueWriter, RefusesAHeaderWithNamesItDidNotGenerate) {
  ModuleInfo info;
  ExportInfo exp;
  exp.name = "*/ evil";
  info.exports.push_back(exp);
  const std::string header =
      "typedef struct Z_guest_instance_t Z_guest_instance_t;\n"
      "void Z_guest_instantiate(Z_guest_instance_t*);\n"
      "/* export: '*/ evil' */\nu32 Z_guestZ_evil(Z_guest_instance_t*);\n";
  auto glue = write_glue(header, info, std::string(64, '0'));
  ASSERT_FALSE(glue.is_ok());
  EXPECT_NE(glue.message().find("did not generate"), std::string::npos) << glue.message();
  const std::string good = "void Z_guest_instantiate(Z_guest_instance_t*);\n"
                           "/* export: 'e0' */\nu32 Z_guestZ_e0(Z_guest_instance_t*);\n";
  auto written = write_glue(good, info, std::string(64, '0'));
  ASSERT_TRUE(written.is_ok()) << written.message();
  EXPECT_EQ(pipeline_check::without_literals(written.value()).find("evil"), std::string::npos) << written.value();
  EXPECT_NE(written->find("\"*/ evil\""), std::string::npos) << written.value();
}

// A bounded, deterministic run of the fuzz target's check: hostile names in
// exports, imports, the name section and custom sections, a quarter of the
// modules mutated byte-wise, through the engine's rewrite → wasm2c → glue.
TEST(ModulePipelineFuzz, MutatedModulesKeepNamesOutOfGeneratedC) {
  const std::string work = test::make_temp_dir();
  std::mt19937 rng(20261202);
  int n_translated = 0;
  for (int i = 0; i < 200; ++i) {
    const Bytes seed = seed_bytes(rng, 128);
    ByteSource src(seed.data(), seed.size());
    Bytes wasm = pipeline_check::build_hostile_module(src);
    if (i % 4 == 3) pipeline_check::mutate(wasm, src);
    const auto result = pipeline_check::check_module(wasm, work, "wasm2c");
    EXPECT_TRUE(result.leak.empty()) << "module " << i << ": " << printable_name(result.leak);
    n_translated += result.translated;
  }
  EXPECT_GE(n_translated, 100);  // most modules reach wasm2c, or the check proves little
  fs::remove_all(work);
}

// A handful go all the way: compiled, loaded, every function export called by its real name.
TEST(ModulePipelineFuzz, AHandfulCompileAndAnswerToTheirRealNames) {
  EngineOptions options = test::engine_options();
  options.cache_dir = test::make_temp_dir();
  Engine engine(options);
  std::mt19937 rng(4242);
  int n_loaded = 0;
  for (int i = 0; i < 40 && n_loaded < 3; ++i) {
    const Bytes seed = seed_bytes(rng, 128);
    ByteSource src(seed.data(), seed.size());
    const Bytes wasm = pipeline_check::build_hostile_module(src);
    auto info = parse_module(wasm.data(), wasm.size());
    ASSERT_TRUE(info.is_ok()) << info.message();
    if (!check_imports(info->imports, host_imports()).is_ok()) continue;
    auto module = engine.load_bytes(wasm, "hostile");
    ASSERT_TRUE(module.is_ok()) << module.message();
    auto instance = Instance::create(module.value(), {});
    ASSERT_TRUE(instance.is_ok()) << instance.message();
    const uint32_t first_defined = info->imports.empty() ? 0 : 1;
    for (const ExportInfo& e : info->exports) {
      if (e.kind != ExternKind::ExternKind_func) continue;
      auto result = instance.value()->call(e.name);
      ASSERT_TRUE(result.is_ok()) << printable_name(e.name) << ": " << result.message();
      EXPECT_EQ(result->result, 100u + e.index - first_defined) << printable_name(e.name);
    }
    ++n_loaded;
  }
  EXPECT_EQ(n_loaded, 3);
  fs::remove_all(options.cache_dir);
}

}  // namespace
}  // namespace samepage
