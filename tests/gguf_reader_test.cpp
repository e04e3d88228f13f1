// GGUF reader (guests/llm/gguf.cpp): every field of small in-memory files,
// every malformation with its message, and the real SmolLM2 file when present.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gguf.h"

namespace {

using llm::GgufFile;

// A tiny GGUF writer for tests: appends little-endian fields to bytes.
struct Writer {
  std::vector<uint8_t> bytes;

  template <typename T>
  Writer& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  Writer& str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  Writer& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  Writer& kv_u32(const std::string& key, uint32_t v) {
    return str(key).put<uint32_t>(llm::GGUF_TYPE_UINT32).put<uint32_t>(v);
  }
  Writer& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                 uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  Writer& pad_to(size_t alignment) {
    while (bytes.size() % alignment != 0) bytes.push_back(0);
    return *this;
  }
  Writer& zeros(size_t n) {
    bytes.insert(bytes.end(), n, 0);
    return *this;
  }
};

llm::Result<GgufFile> parse(const std::vector<uint8_t>& b) {
  return GgufFile::parse(b.data(), b.size());
}

void expect_error(const std::vector<uint8_t>& b, const std::string& fragment) {
  auto r = parse(b);
  ASSERT_FALSE(r.is_ok()) << "expected an error containing: " << fragment;
  EXPECT_NE(r.message().find(fragment), std::string::npos) << r.message();
  EXPECT_EQ(r.message().rfind("[gguf] ", 0), 0u) << r.message();
}

// One key of every value type, a nested array, two tensors and their data.
std::vector<uint8_t> full_file() {
  Writer w;
  w.header(2, 16);
  w.str("u8").put<uint32_t>(0).put<uint8_t>(200);
  w.str("i8").put<uint32_t>(1).put<int8_t>(-5);
  w.str("u16").put<uint32_t>(2).put<uint16_t>(60000);
  w.str("i16").put<uint32_t>(3).put<int16_t>(-300);
  w.kv_u32("llama.block_count", 30);
  w.str("i32").put<uint32_t>(5).put<int32_t>(-70000);
  w.str("f32").put<uint32_t>(6).put<float>(1.5f);
  w.str("flag").put<uint32_t>(7).put<uint8_t>(1);
  w.str("general.architecture").put<uint32_t>(8).str("llama");
  w.str("tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(3).str("a").str("").str("<s>");
  w.str("u64").put<uint32_t>(10).put<uint64_t>(1ull << 40);
  w.str("i64").put<uint32_t>(11).put<int64_t>(-(1ll << 40));
  w.str("f64").put<uint32_t>(12).put<double>(2.25);
  w.str("scores").put<uint32_t>(9).put<uint32_t>(6).put<uint64_t>(2).put<float>(0.5f).put<float>(-1.f);
  // Array of 2 arrays: [u16 x1], [string x1].
  w.str("nested").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(2);
  w.put<uint32_t>(2).put<uint64_t>(1).put<uint16_t>(7);
  w.put<uint32_t>(8).put<uint64_t>(1).str("x");
  w.kv_u32("general.alignment", 64);
  w.tensor("tok_embd.weight", {64, 2}, llm::GGML_TYPE_Q4_1, 0);   // 4 blocks * 20 = 80 bytes
  w.tensor("norm.weight", {3}, llm::GGML_TYPE_F32, 128);          // 12 bytes
  w.pad_to(64).zeros(128 + 12);
  return w.bytes;
}

TEST(GgufReader, ParsesEveryField) {
  const std::vector<uint8_t> b = full_file();
  auto r = parse(b);
  ASSERT_TRUE(r.is_ok()) << r.message();
  const GgufFile& f = r.value();
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.keys().size(), 16u);
  EXPECT_EQ(f.find("u8")->scalar_at<uint8_t>(0), 200);
  EXPECT_EQ(f.find("i8")->scalar_at<int8_t>(0), -5);
  EXPECT_EQ(f.find("u16")->scalar_at<uint16_t>(0), 60000);
  EXPECT_EQ(f.find("i16")->scalar_at<int16_t>(0), -300);
  EXPECT_EQ(f.get_u32("llama.block_count").value(), 30u);
  EXPECT_EQ(f.get_i32("i32").value(), -70000);
  EXPECT_EQ(f.get_f32("f32").value(), 1.5f);
  EXPECT_TRUE(f.get_bool("flag").value());
  EXPECT_EQ(f.get_string("general.architecture").value(), "llama");
  EXPECT_EQ(f.get_u64("u64").value(), 1ull << 40);
  EXPECT_EQ(f.find("i64")->scalar_at<int64_t>(0), -(1ll << 40));
  EXPECT_EQ(f.find("f64")->scalar_at<double>(0), 2.25);
  auto tokens = f.get_array("tokens", llm::GGUF_TYPE_STRING);
  ASSERT_TRUE(tokens.is_ok()) << tokens.message();
  ASSERT_EQ(tokens.value()->n_elems, 3u);
  EXPECT_EQ(tokens.value()->string_at(0), "a");
  EXPECT_EQ(tokens.value()->string_at(1), "");
  EXPECT_EQ(tokens.value()->string_at(2), "<s>");
  auto scores = f.get_array("scores", llm::GGUF_TYPE_FLOAT32);
  ASSERT_TRUE(scores.is_ok());
  EXPECT_EQ(scores.value()->scalar_at<float>(1), -1.f);
  EXPECT_EQ(f.find("nested")->elem_type, llm::GGUF_TYPE_ARRAY);
  EXPECT_EQ(f.find("nested")->n_elems, 2u);

  ASSERT_EQ(f.tensors().size(), 2u);
  const llm::GgufTensor* emb = f.find_tensor("tok_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->n_dims, 2u);
  EXPECT_EQ(emb->dims[0], 64u);
  EXPECT_EQ(emb->dims[1], 2u);
  EXPECT_EQ(emb->type, llm::GGML_TYPE_Q4_1);
  EXPECT_EQ(emb->n_elems, 128u);
  EXPECT_EQ(emb->n_bytes, 80u);
  EXPECT_EQ(emb->data, b.data() + f.data_offset());
  const llm::GgufTensor* norm = f.find_tensor("norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->n_bytes, 12u);
  EXPECT_EQ(norm->data, b.data() + f.data_offset() + 128);
  EXPECT_EQ(f.find_tensor("missing"), nullptr);
}

TEST(GgufReader, TypedGettersNameTheProblem) {
  const std::vector<uint8_t> file = full_file();  // the parsed file views these bytes: keep them alive
  auto r = parse(file);
  ASSERT_TRUE(r.is_ok());
  auto missing = r.value().get_u32("nope");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("'nope' is missing"), std::string::npos);
  auto wrong = r.value().get_u32("general.architecture");
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.message().find("has type string, expected uint32"), std::string::npos);
  auto elem = r.value().get_array("scores", llm::GGUF_TYPE_STRING);
  ASSERT_FALSE(elem.is_ok());
  EXPECT_NE(elem.message().find("array of float32"), std::string::npos);
}

TEST(GgufReader, Version2AndDefaultAlignment) {
  Writer w;
  w.header(1, 0, 2).tensor("t", {8}, llm::GGML_TYPE_F16, 0).pad_to(32).zeros(16);
  auto r = parse(w.bytes);
  ASSERT_TRUE(r.is_ok()) << r.message();
  EXPECT_EQ(r.value().version(), 2u);
  EXPECT_EQ(r.value().alignment(), 32u);
  EXPECT_EQ(r.value().data_offset(), 64u);
}

TEST(GgufReader, NoTensorsNeedsNoPadding) {
  Writer w;
  w.header(0, 1).kv_u32("llama.context_length", 2048);
  auto r = parse(w.bytes);
  ASSERT_TRUE(r.is_ok()) << r.message();
  EXPECT_EQ(r.value().data_offset(), w.bytes.size());
  EXPECT_TRUE(r.value().tensors().empty());
}

TEST(GgufReader, EveryTruncationIsAnError) {
  const std::vector<uint8_t> b = full_file();
  for (size_t n = 0; n < b.size(); ++n) {
    std::vector<uint8_t> prefix(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = parse(prefix);
    ASSERT_FALSE(r.is_ok()) << "prefix of " << n << " bytes parsed";
    ASSERT_FALSE(r.message().empty());
  }
}

TEST(GgufReader, BadMagicAndVersion) {
  std::vector<uint8_t> b = full_file();
  b[0] = 'X';
  expect_error(b, "bad magic");
  Writer w1;
  w1.header(0, 0, 1);
  expect_error(w1.bytes, "version 1 is not supported");
  Writer w4;
  w4.header(0, 0, 4);
  expect_error(w4.bytes, "version 4 is not supported");
}

TEST(GgufReader, HugeCounts) {
  Writer a;
  a.header(0, UINT64_MAX).zeros(64);
  expect_error(a.bytes, "metadata count");
  Writer b;
  b.header(1ull << 60, 0).zeros(64);
  expect_error(b.bytes, "tensor count");
  Writer c;  // array claims more elements than there are bytes
  c.header(0, 1).str("arr").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 62).zeros(16);
  expect_error(c.bytes, "claims 4611686018427387904 elements of uint32");
  Writer d;  // string array: each needs at least 8 bytes
  d.header(0, 1).str("arr").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(3).zeros(16);
  expect_error(d.bytes, "elements of string");
}

TEST(GgufReader, StringPastTheEnd) {
  Writer w;
  w.header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1000).zeros(10);
  expect_error(w.bytes, "has length 1000 but only 10 bytes remain");
  Writer key;
  key.header(0, 1).put<uint64_t>(UINT64_MAX).zeros(20);
  expect_error(key.bytes, "metadata key");
}

TEST(GgufReader, BadValueTypesAndDuplicates) {
  Writer t;
  t.header(0, 1).str("k").put<uint32_t>(13).zeros(8);
  expect_error(t.bytes, "unknown value type 13");
  Writer b;
  b.header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2);
  expect_error(b.bytes, "bool value 2");
  Writer dup;
  dup.header(0, 2).kv_u32("k", 1).kv_u32("k", 2);
  expect_error(dup.bytes, "'k' appears twice");
  Writer deep;  // arrays nested past the depth limit
  deep.header(0, 1).str("k").put<uint32_t>(9);
  for (int i = 0; i < 20; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
  deep.put<uint32_t>(0).put<uint64_t>(0);
  expect_error(deep.bytes, "nests arrays deeper");
}

TEST(GgufReader, BadAlignment) {
  for (uint32_t a : {0u, 3u, 48u}) {
    Writer w;
    w.header(0, 1).kv_u32("general.alignment", a);
    expect_error(w.bytes, "is not a nonzero power of two");
  }
  Writer w;
  w.header(0, 1).str("general.alignment").put<uint32_t>(8).str("32");
  expect_error(w.bytes, "general.alignment has type string");
}

TEST(GgufReader, TensorOffsets) {
  Writer mis;
  mis.header(1, 0).tensor("t", {4}, llm::GGML_TYPE_F32, 8).pad_to(32).zeros(64);
  expect_error(mis.bytes, "'t' offset 8 is not a multiple of the alignment 32");
  Writer past;
  past.header(1, 0).tensor("t", {4}, llm::GGML_TYPE_F32, 32).pad_to(32).zeros(40);
  expect_error(past.bytes, "runs past the end");
  Writer huge;
  huge.header(1, 0).tensor("t", {4}, llm::GGML_TYPE_F32, UINT64_MAX - 31).pad_to(32).zeros(64);
  expect_error(huge.bytes, "runs past the end");
  Writer overlap;
  overlap.header(2, 0)
      .tensor("a", {16}, llm::GGML_TYPE_F32, 0)
      .tensor("b", {4}, llm::GGML_TYPE_F32, 32)
      .pad_to(32)
      .zeros(128);
  expect_error(overlap.bytes, "tensors 'a' and 'b' overlap");
  Writer dup;
  dup.header(2, 0)
      .tensor("a", {4}, llm::GGML_TYPE_F32, 0)
      .tensor("a", {4}, llm::GGML_TYPE_F32, 32)
      .pad_to(32)
      .zeros(64);
  expect_error(dup.bytes, "tensor name 'a' appears twice");
}

TEST(GgufReader, TensorShapesAndTypes) {
  Writer q4k;
  q4k.header(1, 0).tensor("blk.0.ffn_down.weight", {256}, 12, 0).pad_to(32).zeros(256);
  expect_error(q4k.bytes,
               "tensor 'blk.0.ffn_down.weight' has type Q4_K (12), which samepage does not "
               "support yet");
  Writer unknown;
  unknown.header(1, 0).tensor("t", {4}, 999, 0).pad_to(32).zeros(64);
  expect_error(unknown.bytes, "unknown ggml type 999");
  Writer removed;
  removed.header(1, 0).tensor("t", {4}, 4, 0).pad_to(32).zeros(64);
  expect_error(removed.bytes, "unknown ggml type 4");
  Writer dims5;
  dims5.header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).pad_to(32).zeros(64);
  expect_error(dims5.bytes, "'t' has 5 dims");
  Writer overflow;
  overflow.header(1, 0).tensor("t", {1ull << 32, 1ull << 32}, 0, 0).pad_to(32).zeros(64);
  expect_error(overflow.bytes, "element count that overflows");
  Writer bytes_overflow;  // 2^62 elements fit, 2^64 bytes of F32 do not
  bytes_overflow.header(1, 0).tensor("t", {1ull << 31, 1ull << 31}, 0, 0).pad_to(32).zeros(64);
  expect_error(bytes_overflow.bytes, "byte size that overflows");
  Writer block;
  block.header(1, 0).tensor("t", {33}, llm::GGML_TYPE_Q8_0, 0).pad_to(32).zeros(64);
  expect_error(block.bytes, "not a multiple of its block size 32");
  Writer zero;
  zero.header(1, 0).tensor("t", {4, 0}, 0, 0).pad_to(32).zeros(64);
  expect_error(zero.bytes, "zero dim");
}

// Tests run against the real model only where SAMEPAGE_MODEL_DIR holds it.
TEST(GgufReader, RealSmolLM2) {
  const char* dir = std::getenv("SAMEPAGE_MODEL_DIR");
  const std::string path =
      std::string(dir != nullptr ? dir : "") + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  std::ifstream in(path, std::ios::binary);
  if (dir == nullptr || !in) {
    GTEST_SKIP() << "no model at " << path << " (set SAMEPAGE_MODEL_DIR)";
  }
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = parse(b);
  ASSERT_TRUE(r.is_ok()) << r.message();
  const GgufFile& f = r.value();
  EXPECT_EQ(f.get_string("general.architecture").value(), "llama");
  auto blocks = f.get_u32("llama.block_count");
  ASSERT_TRUE(blocks.is_ok()) << blocks.message();
  auto embd = f.get_u32("llama.embedding_length");
  ASSERT_TRUE(embd.is_ok()) << embd.message();
  auto tokens = f.get_array("tokenizer.ggml.tokens", llm::GGUF_TYPE_STRING);
  ASSERT_TRUE(tokens.is_ok()) << tokens.message();
  EXPECT_GT(tokens.value()->n_elems, 1000u);
  EXPECT_NE(f.find_tensor("token_embd.weight"), nullptr);
  std::printf("[ model    ] v%u, %zu tensors, %zu keys, arch llama, block_count %u, "
              "embedding_length %u, vocab %llu, token[1] '%.*s', data at %llu\n",
              f.version(), f.tensors().size(), f.keys().size(), blocks.value(), embd.value(),
              static_cast<unsigned long long>(tokens.value()->n_elems),
              static_cast<int>(tokens.value()->string_at(1).size()),
              tokens.value()->string_at(1).data(),
              static_cast<unsigned long long>(f.data_offset()));
}

}  // namespace
