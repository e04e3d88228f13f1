// The module parser on malformed input: every kind of damage gives an error
// that names where it is, never a crash, and a mutation fuzz loop backs it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <regex>

#include "samepage/module_info.h"
#include "wasm_test_helpers.h"

namespace samepage {
namespace {

using namespace wasm_test;

// Parses and expects an error containing every one of `parts`.
void expect_error(const Bytes& wasm, std::initializer_list<const char*> parts) {
  auto parsed = parse(wasm);
  ASSERT_FALSE(parsed.is_ok()) << "expected an error containing '" << *parts.begin() << "'";
  EXPECT_EQ(parsed.message().rfind("[engine::parse_module] ", 0), 0u) << parsed.message();
  for (const char* part : parts) EXPECT_NE(parsed.message().find(part), std::string::npos) << parsed.message();
}

const Bytes kHeader = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

TEST(ModuleParserMalformed, HeaderErrors) {
  auto empty = parse_module(nullptr, 0);
  ASSERT_FALSE(empty.is_ok());
  EXPECT_NE(empty.message().find("has 0 bytes"), std::string::npos) << empty.message();
  expect_error({0x00, 0x61, 0x73}, {"has 3 bytes"});
  expect_error({0x7f, 'E', 'L', 'F', 0x02, 0x01, 0x01, 0x00}, {"bad magic", "offset 0x0"});
  expect_error({0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00}, {"unsupported version 2", "offset 0x4"});
  expect_error({0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00}, {"component, not a core module"});
}

TEST(ModuleParserMalformed, TruncationAtEveryByteFailsCleanly) {
  const Bytes modules[] = {fixture("mvp"), fixture("simd"), fixture("bulk_memory"),
                           fixture("exceptions", "--enable-exceptions"),
                           fixture("threads_atomic", "--enable-threads")};
  for (const Bytes& wasm : modules) {
    ASSERT_TRUE(parse(wasm).is_ok());
    std::vector<bool> boundary(wasm.size() + 1, false);
    boundary[8] = true;
    for (const SectionSpan& span : section_spans(wasm)) boundary[span.payload_start + span.payload_size] = true;
    for (size_t n = 0; n < wasm.size(); ++n) {
      auto parsed = parse_module(wasm.data(), n);  // exactly n bytes: ASan sees any overread
      if (!boundary[n]) {
        ASSERT_FALSE(parsed.is_ok()) << "prefix of " << n << " bytes parsed";
      }
      if (!parsed.is_ok()) {
        ASSERT_FALSE(parsed.message().empty());
      }
    }
  }
}

TEST(ModuleParserMalformed, TruncationInsideEachSectionNamesTheSection) {
  // Drop the last byte of one section's payload and shrink its size to match.
  const Bytes modules[] = {fixture("mvp"), fixture("bulk_memory"), fixture("exceptions", "--enable-exceptions")};
  std::vector<bool> seen(14, false);
  for (const Bytes& wasm : modules) {
    for (const SectionSpan& span : section_spans(wasm)) {
      if (span.id == 0 || span.payload_size == 0) continue;
      SCOPED_TRACE(section_name(span.id));
      seen[span.id] = true;
      Bytes cut(wasm.begin(), wasm.begin() + static_cast<ptrdiff_t>(span.start));
      cut.push_back(span.id);
      append(cut, leb(span.payload_size - 1));
      const size_t payload_end = span.payload_start + span.payload_size;
      cut.insert(cut.end(), wasm.begin() + static_cast<ptrdiff_t>(span.payload_start),
                 wasm.begin() + static_cast<ptrdiff_t>(payload_end - 1));
      cut.insert(cut.end(), wasm.begin() + static_cast<ptrdiff_t>(payload_end), wasm.end());
      expect_error(cut, {(std::string(section_name(span.id)) + " section").c_str()});
    }
  }
  for (uint8_t id = 1; id < 14; ++id) EXPECT_TRUE(seen[id]) << "no fixture has a " << section_name(id) << " section";
}

TEST(ModuleParserMalformed, SectionLargerThanFile) {
  expect_error(cat({kHeader, {0x01, 0x20, 0x01, 0x60}}), {"type section", "section size 32 exceeds the 2 bytes"});
}

TEST(ModuleParserMalformed, GiantCountsAreRefusedBeforeAllocating) {
  const Bytes huge = leb(0xffffffffu);
  const uint8_t ids[] = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 13};
  for (uint8_t id : ids) {
    SCOPED_TRACE(section_name(id));
    expect_error(module_of({section(id, cat({huge, {0x60, 0x00, 0x00, 0x00}}))}),
                 {section_name(id), "count 4294967295 cannot fit"});
  }
  // Counts inside a function body: br_table labels, select types, locals.
  expect_error(one_function_module(cat({{0x41, 0x00, 0x0e}, huge, {0x00, 0x0b}})), {"br_table label count"});
  expect_error(one_function_module(cat({{0x1c}, huge, {0x7f, 0x0b}})), {"select type count"});
  expect_error(module_of({type_section_void(), function_section(1),
                          code_section({cat({{0x02}, huge, {0x7f}, huge, {0x7f, 0x0b}})})}),
               {"function 0: more than 2^32 - 1 locals"});
  // Lengths: a name and a data segment longer than what is left.
  expect_error(module_of({section(2, cat({{0x01}, leb(0xfffffff0u), {'e', 'n', 'v'}}))}),
               {"import module name length 4294967280 exceeds"});
  expect_error(module_of({memory_section_1page(), section(11, cat({{0x01, 0x00, 0x41, 0x00, 0x0b}, huge}))}),
               {"data segment 0: size 4294967295 exceeds"});
}

TEST(ModuleParserMalformed, LebOverflowIsAnError) {
  // A section size with six bytes, and a u32 whose fifth byte has bits past 32.
  expect_error(cat({kHeader, {0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}}), {"LEB128 overflow"});
  expect_error(module_of({section(1, {0xff, 0xff, 0xff, 0xff, 0x1f})}), {"type section", "LEB128 overflow"});
  // i32.const: the fifth byte must sign-extend bit 31.
  expect_error(one_function_module({0x41, 0x80, 0x80, 0x80, 0x80, 0x08, 0x1a, 0x0b}), {"LEB128 overflow"});
  expect_error(one_function_module({0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b}), {"LEB128 overflow"});
  // i64.const with eleven bytes.
  Bytes long_i64 = {0x42};
  for (int i = 0; i < 10; ++i) long_i64.push_back(0x80);
  append(long_i64, {0x00, 0x1a, 0x0b});
  expect_error(one_function_module(long_i64), {"LEB128 overflow"});
  // The extremes themselves are fine: INT32_MIN, INT32_MAX, INT64_MIN.
  EXPECT_TRUE(parse(one_function_module({0x41, 0x80, 0x80, 0x80, 0x80, 0x78, 0x1a, 0x0b})).is_ok());
  EXPECT_TRUE(parse(one_function_module({0x41, 0xff, 0xff, 0xff, 0xff, 0x07, 0x1a, 0x0b})).is_ok());
  Bytes min_i64 = {0x42};
  for (int i = 0; i < 9; ++i) min_i64.push_back(0x80);
  append(min_i64, {0x7f, 0x1a, 0x0b});
  EXPECT_TRUE(parse(one_function_module(min_i64)).is_ok());
  // A truncated LEB at the very end of a body.
  expect_error(one_function_module({0x41, 0x80}), {"code section"});
}

TEST(ModuleParserMalformed, OutOfRangeIndicesAreErrors) {
  const Bytes types = type_section_void();
  expect_error(module_of({types, section(3, {0x01, 0x01})}), {"function section", "type index 1 out of range"});
  expect_error(module_of({types, section(2, {0x01, 0x01, 'e', 0x01, 'f', 0x00, 0x05})}),
               {"import section", "type index 5 out of range"});
  expect_error(module_of({types, function_section(1), section(7, {0x01, 0x01, 'f', 0x00, 0x01}),
                          code_section({{0x00, 0x0b}})}),
               {"export 'f': func index 1 out of range"});
  expect_error(module_of({types, function_section(1), section(8, {0x04}), code_section({{0x00, 0x0b}})}),
               {"start function index 4 out of range"});
  expect_error(one_function_module({0x10, 0x07, 0x0b}), {"function 0: function index 7 out of range"});
  expect_error(one_function_module({0x41, 0x00, 0x11, 0x00, 0x00, 0x0b}), {"table index 0 out of range"});
  expect_error(one_function_module({0x20, 0x00, 0x1a, 0x0b}), {"local index 0 out of range"});
  expect_error(one_function_module({0x23, 0x00, 0x1a, 0x0b}), {"global index 0 out of range"});
  expect_error(one_function_module({0x41, 0x00, 0x28, 0x02, 0x00, 0x1a, 0x0b}), {"memory index 0 out of range"});
  expect_error(one_function_module({0x02, 0x09, 0x0b, 0x0b}), {"block type index 9 out of range"});
  expect_error(one_function_module({0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x08, 0x00, 0x00, 0x0b}, true),
               {"need a datacount section"});
  // The start function must take and return nothing.
  expect_error(module_of({section(1, {0x01, 0x60, 0x01, 0x7f, 0x00}), function_section(1), section(8, {0x00}),
                          code_section({{0x00, 0x0b}})}),
               {"start function 0 has type (i32) -> ()"});
  // An element segment naming a missing function; a data segment without memory.
  expect_error(module_of({types, section(4, {0x01, 0x70, 0x00, 0x01}),
                          section(9, {0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x03})}),
               {"element section", "function index 3 out of range"});
  expect_error(module_of({section(11, {0x01, 0x00, 0x41, 0x00, 0x0b, 0x00})}),
               {"data segment 0: memory index 0 out of range"});
}

TEST(ModuleParserMalformed, DuplicateExportName) {
  expect_error(module_of({memory_section_1page(), section(7, {0x02, 0x01, 'm', 0x02, 0x00, 0x01, 'm', 0x02, 0x00})}),
               {"export section", "duplicate export name 'm'"});
}

TEST(ModuleParserMalformed, FunctionAndCodeCountsMustMatch) {
  expect_error(module_of({type_section_void(), function_section(2), code_section({{0x00, 0x0b}})}),
               {"2 functions declared, 1 bodies"});
  expect_error(module_of({type_section_void(), function_section(1)}), {"1 functions declared, no code section"});
  expect_error(module_of({type_section_void(), code_section({{0x00, 0x0b}})}), {"0 functions declared, 1 bodies"});
}

TEST(ModuleParserMalformed, SectionsOutOfOrderOrDuplicated) {
  expect_error(module_of({memory_section_1page(), type_section_void()}), {"type section", "out of order"});
  expect_error(module_of({type_section_void(), type_section_void()}), {"out of order or duplicated"});
  expect_error(module_of({section(6, {0x00}), section(13, {0x00})}), {"tag section", "out of order"});
  expect_error(cat({kHeader, {0x0e, 0x00}}), {"unknown section id 14"});
  // The proposals' placements are accepted: tag before global, datacount before code.
  EXPECT_TRUE(parse(module_of({section(13, {0x00}), section(6, {0x00})})).is_ok());
  EXPECT_TRUE(parse(module_of({section(12, {0x00}), section(10, {0x00})})).is_ok());
}

TEST(ModuleParserMalformed, SectionSizeMismatchAndTrailingBytes) {
  expect_error(module_of({section(1, {0x01, 0x60, 0x00, 0x00, 0x00})}),
               {"type section", "size mismatch: 1 bytes left unread"});
  expect_error(one_function_module({0x0b, 0x01}), {"function 0: 1 bytes follow the final 'end'"});
  expect_error(one_function_module({0x0b, 0x0b}), {"bytes follow the final 'end'"});
}

TEST(ModuleParserMalformed, UnknownOpcodeNamesFunctionAndOffset) {
  // header 8 + type section 6 + function section 4; code: id, size, count,
  // body size, locals, nop, then the bad opcode at 0x18.
  expect_error(one_function_module({0x01, 0xff, 0x0b}), {"code section at offset 0x18: function 0: unknown opcode 0xff"});
  // Function indices count the imported functions first.
  expect_error(module_of({type_section_void(), section(2, {0x01, 0x01, 'e', 0x01, 'f', 0x00, 0x00}),
                          function_section(1), code_section({{0x00, 0xe0, 0x0b}})}),
               {"function 1: unknown opcode 0xe0"});
  expect_error(one_function_module({0xfd, 0x9a, 0x01, 0x0b}), {"unknown opcode 0xfd 154"});
  expect_error(one_function_module({0xfc, 0x12, 0x0b}), {"unknown opcode 0xfc 18"});
  expect_error(one_function_module({0xfe, 0x04, 0x0b}), {"unknown opcode 0xfe 4"});
  expect_error(one_function_module({0x05, 0x0b}), {"'else' outside a block"});
  expect_error(one_function_module({0x02, 0x6e, 0x0b, 0x0b}), {"invalid block type"});
  // Constant expressions allow only constants (and extended-const arithmetic).
  expect_error(module_of({section(6, {0x01, 0x7f, 0x00, 0x41, 0x01, 0x45, 0x0b})}),
               {"global 0 initializer: opcode 0x45 is not allowed in a constant expression"});
}

TEST(ModuleParserMalformed, BadLimitsTypesAndNames) {
  expect_error(module_of({section(5, {0x01, 0x01, 0x05, 0x02})}), {"memory minimum 5 pages exceeds its maximum 2"});
  expect_error(module_of({section(5, cat({{0x01, 0x00}, leb(65537)}))}), {"memory size exceeds 65536 pages"});
  expect_error(module_of({section(5, {0x01, 0x02, 0x01})}), {"shared memory must have a maximum"});
  expect_error(module_of({section(5, {0x01, 0x08, 0x01})}), {"unknown memory limits flags 0x08"});
  expect_error(module_of({section(4, {0x01, 0x70, 0x01, 0x03, 0x01})}), {"table minimum 3 exceeds its maximum 1"});
  expect_error(module_of({section(4, {0x01, 0x7f, 0x00, 0x01})}), {"unknown reference type 0x7f"});
  expect_error(module_of({section(1, {0x01, 0x60, 0x01, 0x55, 0x00})}), {"unknown value type 0x55"});
  expect_error(module_of({section(1, {0x01, 0x5f, 0x00, 0x00})}), {"unsupported type form 0x5f"});
  expect_error(module_of({section(6, {0x01, 0x7f, 0x02, 0x41, 0x00, 0x0b})}), {"global mutability"});
  expect_error(module_of({section(2, {0x01, 0x01, 'e', 0x01, 'f', 0x07, 0x00})}), {"unknown kind 0x07"});
  expect_error(module_of({memory_section_1page(), section(7, {0x01, 0x01, 0xff, 0x02, 0x00})}),
               {"export name is not valid UTF-8"});
  expect_error(module_of({memory_section_1page(), section(7, {0x01, 0x02, 0xc0, 0x80, 0x02, 0x00})}),
               {"not valid UTF-8"});  // overlong NUL
  auto utf8 = parse(module_of({memory_section_1page(), section(7, {0x01, 0x02, 0xc3, 0xa9, 0x02, 0x00})}));
  ASSERT_TRUE(utf8.is_ok()) << utf8.message();
  EXPECT_EQ(utf8->exports[0].name, "\xc3\xa9");
}

// ---- mutation fuzzing -------------------------------------------------------

struct Seed {
  const char* name;
  const char* flags;
};
const Seed kSeeds[] = {{"mvp", ""},
                       {"simd", ""},
                       {"bulk_memory", ""},
                       {"reference_types", ""},
                       {"multi_value", ""},
                       {"threads_atomic", "--enable-threads"},
                       {"exceptions", "--enable-exceptions"},
                       {"memory64", "--enable-memory64"},
                       {"multi_memory", "--enable-multi-memory"},
                       {"tail_call", "--enable-tail-call"}};

std::vector<Bytes> seed_modules() {
  std::vector<Bytes> seeds;
  for (const Seed& seed : kSeeds) seeds.push_back(fixture(seed.name, seed.flags));
  return seeds;
}

// One random edit: overwrite, bit flip, insert, delete, truncate, duplicate
// a span, or plant an extreme LEB128.
void mutate(Bytes& wasm, std::mt19937& rng) {
  auto pick = [&rng](size_t n) { return n == 0 ? size_t{0} : std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  static const uint8_t kInteresting[] = {0x00, 0x01, 0x0b, 0x40, 0x7f, 0x80, 0xff, 0xfc, 0xfd, 0xfe, 0x60, 0x70};
  switch (pick(7)) {
    case 0:
      if (!wasm.empty()) wasm[pick(wasm.size())] = static_cast<uint8_t>(rng());
      break;
    case 1:
      if (!wasm.empty()) wasm[pick(wasm.size())] ^= static_cast<uint8_t>(1u << pick(8));
      break;
    case 2:
      wasm.insert(wasm.begin() + static_cast<ptrdiff_t>(pick(wasm.size() + 1)), kInteresting[pick(12)]);
      break;
    case 3:
      if (!wasm.empty()) {
        const size_t at = pick(wasm.size());
        wasm.erase(wasm.begin() + static_cast<ptrdiff_t>(at),
                   wasm.begin() + static_cast<ptrdiff_t>(std::min(wasm.size(), at + 1 + pick(8))));
      }
      break;
    case 4:
      wasm.resize(pick(wasm.size() + 1));
      break;
    case 5:
      if (!wasm.empty()) {
        const size_t at = pick(wasm.size());
        const Bytes span(wasm.begin() + static_cast<ptrdiff_t>(at),
                         wasm.begin() + static_cast<ptrdiff_t>(std::min(wasm.size(), at + 1 + pick(16))));
        wasm.insert(wasm.begin() + static_cast<ptrdiff_t>(pick(wasm.size() + 1)), span.begin(), span.end());
      }
      break;
    default: {
      const Bytes big = {0xff, 0xff, 0xff, 0xff, 0x0f};
      wasm.insert(wasm.begin() + static_cast<ptrdiff_t>(pick(wasm.size() + 1)), big.begin(), big.end());
      break;
    }
  }
}

TEST(ModuleParserMalformed, MutationFuzzNeverCrashes) {
  const std::vector<Bytes> seeds = seed_modules();
  std::mt19937 rng(20261129);
  int n_ok = 0, n_error = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes wasm = seeds[static_cast<size_t>(i) % seeds.size()];
    const int n_mutations = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n_mutations; ++k) mutate(wasm, rng);
    auto parsed = parse_module(wasm.data(), wasm.size());
    if (parsed.is_ok()) {
      ++n_ok;
      // What the engine and `inspect` do next must hold up on whatever parsed.
      const std::string report = describe_module(parsed.value());
      ASSERT_NE(report.find("runnable: "), std::string::npos);
      const Status runnable = check_runnable(parsed.value());
      ASSERT_TRUE(runnable.is_ok() || !runnable.message().empty());
    } else {
      ++n_error;
      ASSERT_EQ(parsed.message().rfind("[engine::parse_module] ", 0), 0u) << parsed.message();
      ASSERT_GT(parsed.message().size(), std::string("[engine::parse_module] ").size());
    }
  }
  // Both paths were exercised: some edits keep a module valid (constants,
  // data bytes), most break it.
  std::printf("%d mutants parsed, %d refused\n", n_ok, n_error);
  EXPECT_GT(n_ok, 100);
  EXPECT_GT(n_error, 10000);
}

// Spec-invalid modules that WABT 1.0.32 accepts and samepage refuses: a body
// whose last byte is an `end` that closes an inner block (WABT closes the rest
// silently), data segment flags above 2, a datacount without a data section,
// and alignment exponents of 32 or more (WABT computes 1 << align in 32 bits,
// so 2^34 passes as 2^2).
bool is_known_wabt_leniency(const std::string& message) {
  return message.find("ends without its final 'end'") != std::string::npos ||
         message.find("but there is no data section") != std::string::npos ||
         std::regex_search(message, std::regex("data segment \\d+: unknown flags [3-7]$")) ||
         std::regex_search(message, std::regex("alignment 2\\^(3[2-9]|[4-9]\\d|\\d{3,}) is too large$"));
}

TEST(ModuleParserMalformed, AcceptsEveryMutantThatWasmValidateAccepts) {
  // The parser must never refuse a module that WABT itself accepts.
  if (!have_tool("wasm-validate")) GTEST_SKIP() << "wasm-validate not installed";
  const std::vector<Bytes> seeds = seed_modules();
  const std::string dir = temp_dir();
  std::mt19937 rng(7);
  int n_valid = 0;
  for (int i = 0; i < 400; ++i) {
    // One byte overwritten or one bit flipped: the edits most likely to leave
    // a module valid, which is what this test needs.
    Bytes wasm = seeds[static_cast<size_t>(i) % seeds.size()];
    const size_t at = rng() % wasm.size();
    if (rng() % 2 == 0) {
      wasm[at] = static_cast<uint8_t>(rng());
    } else {
      wasm[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    const std::string path = dir + "/mutant.wasm";
    write_bytes(path, wasm);
    const std::string flags = std::string("--enable-threads --enable-exceptions --enable-tail-call ") +
                              "--enable-memory64 --enable-multi-memory --enable-extended-const";
    if (run_command("wasm-validate " + flags + " '" + path + "'") != 0) continue;
    ++n_valid;
    auto parsed = parse(wasm);
    if (!parsed.is_ok() && is_known_wabt_leniency(parsed.message())) continue;
    EXPECT_TRUE(parsed.is_ok()) << "mutant " << i << " of " << kSeeds[static_cast<size_t>(i) % seeds.size()].name
                                << ": " << parsed.message();
  }
  EXPECT_GT(n_valid, 20);
  std::printf("%d of 400 mutants were valid for wasm-validate\n", n_valid);
}

}  // namespace
}  // namespace samepage
