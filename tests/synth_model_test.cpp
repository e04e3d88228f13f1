// The synthetic GGUF writer (tools/synth_model): files of every dtype parse in
// our reader with the shapes, types and metadata of the named shape; output
// is the same for any thread count; the encoders hit known bit patterns; and,
// with SAMEPAGE_PYTHON set (scripts/test.sh sets it), the gguf package
// dequantizes every block to the drawn values and the float64 reference
// forward runs on every dtype.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <unordered_map>
#include <vector>

#include "gguf.h"
#include "quantize.h"
#include "synth_model.h"
#include "test_paths.h"
#include "vocab.h"
#include "wasm_test_helpers.h"

namespace {

using samepage::test::beside_test_binary;

using samepage::wasm_test::run_command;
using samepage::wasm_test::temp_dir;

std::vector<uint8_t> read_file(const std::string& path) { return samepage::wasm_test::read_bytes(path); }

synth::Options tiny_options(synth::Dtype dtype) {
  synth::Options o;
  o.shape = *synth::find_shape("tiny");
  o.dtype = dtype;
  o.embd_dtype = synth::default_embd_dtype(dtype);
  o.seed = 7;
  return o;
}

std::string write_tiny(const std::string& dir, const synth::Options& o, const std::string& name) {
  const std::string path = dir + "/" + name + ".gguf";
  const std::string error = synth::write_synth_model(o, path, nullptr);
  EXPECT_EQ(error, "") << path;
  return path;
}

const uint32_t kAllDtypes[] = {synth::DTYPE_F32, synth::DTYPE_F16, synth::DTYPE_BF16,
                               synth::DTYPE_Q8_0, synth::DTYPE_Q4_0, synth::DTYPE_Q4_1};

TEST(SynthModel, TinyInEveryDtypeParsesWithItsShapesTypesAndMetadata) {
  const std::string dir = temp_dir();
  for (uint32_t d : kAllDtypes) {
    const auto dtype = static_cast<synth::Dtype>(d);
    SCOPED_TRACE(synth::dtype_traits(dtype).name);
    const std::string path = write_tiny(dir, tiny_options(dtype), synth::dtype_traits(dtype).name);
    const std::vector<uint8_t> bytes = read_file(path);
    const llm::Result<llm::GgufFile> parsed = llm::GgufFile::parse(bytes.data(), bytes.size());
    ASSERT_TRUE(parsed.is_ok()) << parsed.message();
    const llm::GgufFile& f = parsed.value();
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.get_string("general.architecture").value(), "llama");
    EXPECT_EQ(f.get_u32("llama.block_count").value(), 2u);
    EXPECT_EQ(f.get_u32("llama.embedding_length").value(), 64u);
    EXPECT_EQ(f.get_u32("llama.attention.head_count").value(), 4u);
    EXPECT_EQ(f.get_u32("llama.attention.head_count_kv").value(), 2u);
    EXPECT_EQ(f.get_u32("llama.feed_forward_length").value(), 128u);
    EXPECT_EQ(f.get_u32("llama.rope.dimension_count").value(), 16u);
    EXPECT_EQ(f.get_u32("llama.vocab_size").value(), 512u);
    EXPECT_EQ(f.get_string("tokenizer.ggml.model").value(), "gpt2");
    EXPECT_EQ(f.get_string("tokenizer.ggml.pre").value(), "smollm");
    EXPECT_EQ(f.get_u32("tokenizer.ggml.eos_token_id").value(), synth::kTokenImEnd);
    const llm::Result<const llm::GgufValue*> tokens = f.get_array("tokenizer.ggml.tokens", llm::GGUF_TYPE_STRING);
    ASSERT_TRUE(tokens.is_ok());
    EXPECT_EQ(tokens.value()->n_elems, 512u);
    EXPECT_EQ(tokens.value()->string_at(1), "<|im_start|>");
    EXPECT_EQ(tokens.value()->string_at(synth::kNumControlTokens + ' '), "\xc4\xa0");  // "Ġ"
    const auto types = f.get_array("tokenizer.ggml.token_type", llm::GGUF_TYPE_INT32);
    ASSERT_TRUE(types.is_ok());
    EXPECT_EQ(types.value()->scalar_at<int32_t>(2), synth::kTokenTypeControl);
    EXPECT_EQ(f.get_array("tokenizer.ggml.merges", llm::GGUF_TYPE_STRING).value()->n_elems, 512u - 259u);
    EXPECT_NE(f.get_string("tokenizer.chat_template").value().find("<|im_start|>"), std::string_view::npos);

    ASSERT_EQ(f.tensors().size(), 2u * 9u + 2u);  // tied output: no output.weight
    EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
    const uint32_t matrix_type = synth::dtype_traits(dtype).ggml_type;
    const uint32_t embd_type = synth::dtype_traits(synth::default_embd_dtype(dtype)).ggml_type;
    const llm::GgufTensor* embd = f.find_tensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    EXPECT_EQ(embd->type, embd_type);
    EXPECT_EQ(embd->dims[0], 64u);
    EXPECT_EQ(embd->dims[1], 512u);
    const llm::GgufTensor* k = f.find_tensor("blk.1.attn_k.weight");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->type, matrix_type);
    EXPECT_EQ(k->n_dims, 2u);
    EXPECT_EQ(k->dims[0], 64u);  // fan-in
    EXPECT_EQ(k->dims[1], 32u);  // n_head_kv * head_dim
    const llm::GgufTensor* down = f.find_tensor("blk.0.ffn_down.weight");
    ASSERT_NE(down, nullptr);
    EXPECT_EQ(down->dims[0], 128u);
    EXPECT_EQ(down->n_bytes, synth::dtype_bytes(dtype, 128 * 64));
    const llm::GgufTensor* norm = f.find_tensor("output_norm.weight");
    ASSERT_NE(norm, nullptr);
    EXPECT_EQ(norm->type, llm::GGML_TYPE_F32);
    for (const llm::GgufTensor& t : f.tensors()) {
      size_t n_nonzero = 0;
      for (uint64_t i = 0; i < t.n_bytes; ++i) n_nonzero += t.data[i] != 0;
      EXPECT_GT(n_nonzero, t.n_bytes / 2) << t.name;  // random, never zeros
    }
  }
}

TEST(SynthModel, QkvBiasMakesQwen2AndUntiedAddsOutput) {
  const std::string dir = temp_dir();
  synth::Options o = tiny_options(synth::DTYPE_Q8_0);
  o.qkv_bias = true;
  o.untied = true;
  const std::vector<uint8_t> bytes = read_file(write_tiny(dir, o, "qwen"));
  const auto parsed = llm::GgufFile::parse(bytes.data(), bytes.size());
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  const llm::GgufFile& f = parsed.value();
  EXPECT_EQ(f.get_string("general.architecture").value(), "qwen2");
  EXPECT_EQ(f.get_u32("qwen2.block_count").value(), 2u);
  const llm::GgufTensor* bias = f.find_tensor("blk.0.attn_k.bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->type, llm::GGML_TYPE_F32);
  EXPECT_EQ(bias->dims[0], 32u);
  ASSERT_NE(f.find_tensor("blk.1.attn_q.bias"), nullptr);
  const llm::GgufTensor* out = f.find_tensor("output.weight");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->dims[1], 512u);
  EXPECT_EQ(f.tensors().size(), 2u * 12u + 3u);
}

TEST(SynthModel, SameBytesForAnyThreadCountAndOtherBytesForAnotherSeed) {
  const std::string dir = temp_dir();
  synth::Options o = tiny_options(synth::DTYPE_Q4_1);
  o.n_threads = 1;
  const std::vector<uint8_t> one = read_file(write_tiny(dir, o, "t1"));
  o.n_threads = 3;
  const std::vector<uint8_t> three = read_file(write_tiny(dir, o, "t3"));
  EXPECT_EQ(one, three);
  o.seed = 8;
  const std::vector<uint8_t> other = read_file(write_tiny(dir, o, "s8"));
  EXPECT_NE(one, other);  // other merges and weights
}

TEST(SynthModel, Llama32PlanMatchesThePublishedModel) {
  synth::Options o;
  o.shape = *synth::find_shape("llama-3.2-1b");
  o.dtype = o.embd_dtype = synth::DTYPE_BF16;
  std::string error;
  const std::vector<synth::TensorPlan> plan = synth::plan_tensors(o, &error);
  ASSERT_EQ(error, "");
  uint64_t n_params = 0;
  for (const synth::TensorPlan& t : plan) n_params += t.n_elems;
  EXPECT_EQ(n_params, 1235814432u);  // Llama 3.2 1B: 1.24B with the tied embedding, + rope_freqs
  ASSERT_EQ(plan[0].name, "rope_freqs.weight");
  ASSERT_EQ(plan[0].fixed.size(), 32u);
  EXPECT_FLOAT_EQ(plan[0].fixed.front(), 1.0f);  // short wavelengths unscaled
  EXPECT_FLOAT_EQ(plan[0].fixed.back(), 32.0f);  // long ones divided by the factor
  EXPECT_EQ(plan.back().name, "output_norm.weight");
}

TEST(SynthModel, QuantizedRowsMustFillBlocks) {
  synth::Options o = tiny_options(synth::DTYPE_Q8_0);
  o.shape.n_embd = 48, o.shape.n_head = 3, o.shape.n_head_kv = 1;  // 48 is not a multiple of 32
  std::string error;
  EXPECT_TRUE(synth::plan_tensors(o, &error).empty());
  EXPECT_NE(error.find("do not fill q8_0 blocks"), std::string::npos) << error;
  EXPECT_NE(synth::write_synth_model(o, temp_dir() + "/x.gguf", nullptr), "");
}

TEST(SynthModel, EncodersHitKnownBitPatterns) {
  EXPECT_EQ(synth::float_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(synth::float_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(synth::float_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(synth::float_to_f16(1e6f), 0x7c00);
  EXPECT_EQ(synth::float_to_f16(0x1.0p-24f), 0x0001);      // smallest subnormal
  EXPECT_EQ(synth::float_to_f16(1.0f + 0x1.0p-11f), 0x3c00);  // tie rounds to even
  EXPECT_EQ(synth::float_to_f16(1.0f + 0x1.8p-11f), 0x3c01);   // 0.75 ulp up
  EXPECT_EQ(synth::float_to_f16(1.0f + 0x1.8p-10f), 0x3c02);   // 1.5 ulp: tie, to even
  EXPECT_EQ(synth::f16_to_float(0x3555), 0x1.554p-2f);
  EXPECT_EQ(synth::float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(synth::float_to_bf16(1.0f + 0x1.8p-7f), 0x3f82);  // 1.5 ulp: tie, to even
  EXPECT_EQ(synth::float_to_bf16(1.0f + 0x1.0p-8f), 0x3f80);  // 0.5 ulp: tie, to even

  float x[32];
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16) / 16.0f;  // -1 .. 15/16
  uint8_t q4_0[18];
  synth::quantize_q4_0(x, 32, q4_0);
  EXPECT_EQ(synth::f16_to_float(static_cast<uint16_t>(q4_0[0] | (q4_0[1] << 8))), 0.125f);  // -1 / -8
  // Byte j: element j low, element j + 16 high. x[0] = -1 -> q 0, x[16] = 0 -> q 8;
  // x[15] = -1/16 -> q 8 (ties to even), x[31] = 15/16 -> 7.5 + 8 clamps to 15.
  EXPECT_EQ(q4_0[2 + 0], 0x80);
  EXPECT_EQ(q4_0[2 + 15], 0xf8);
  uint8_t q8[34];
  synth::quantize_q8_0(x, 32, q8);
  EXPECT_EQ(static_cast<int8_t>(q8[2]), -127);  // x[0] = -amax
  EXPECT_EQ(static_cast<int8_t>(q8[2 + 16]), 0);
}

TEST(SynthModel, VocabMergesJoinEarlierTokens) {
  const synth::Vocab v = synth::make_vocab(2000, 3);
  ASSERT_EQ(v.tokens.size(), 2000u);
  ASSERT_EQ(v.merges.size(), 2000u - 259u);
  EXPECT_EQ(synth::byte_token('A'), "A");
  EXPECT_EQ(synth::byte_token(' '), "\xc4\xa0");   // U+0120
  EXPECT_EQ(synth::byte_token('\n'), "\xc4\x8a");  // U+010A
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < v.tokens.size(); ++i) EXPECT_TRUE(index.emplace(v.tokens[i], i).second) << v.tokens[i];
  for (size_t r = 0; r < v.merges.size(); ++r) {
    const size_t space = v.merges[r].find(' ');
    ASSERT_NE(space, std::string::npos);
    const std::string left = v.merges[r].substr(0, space), right = v.merges[r].substr(space + 1);
    const size_t id = 259 + r;
    EXPECT_EQ(v.tokens[id], left + right);
    ASSERT_TRUE(index.count(left) && index.count(right)) << v.merges[r];
    EXPECT_LT(index[left], id);
    EXPECT_LT(index[right], id);
  }
}

TEST(SynthModel, CliRefusesBadArgumentsWithAMessage) {
  const std::string bin = beside_test_binary(SAMEPAGE_TEST_SYNTH_BINARY);
  std::string out;
  EXPECT_EQ(run_command("'" + bin + "' --shape nope -o /dev/null", &out), 2);
  EXPECT_NE(out.find("unknown shape nope"), std::string::npos) << out;
  EXPECT_EQ(run_command("'" + bin + "' --shape tiny --dtype q5_k -o /dev/null", &out), 2);
  EXPECT_NE(out.find("unknown dtype q5_k"), std::string::npos) << out;
  EXPECT_EQ(run_command("'" + bin + "' --shape tiny --seed -1 -o /dev/null", &out), 2);
  EXPECT_EQ(run_command("'" + bin + "' --shape tiny -o /nonexistent-dir/x.gguf", &out), 1);
  EXPECT_NE(out.find("[synth] cannot create"), std::string::npos) << out;
  const std::string path = temp_dir() + "/cli.gguf";
  EXPECT_EQ(run_command("'" + bin + "' --shape tiny --dtype bf16 --threads 2 -o '" + path + "'", &out), 0) << out;
  EXPECT_NE(out.find("20 tensors"), std::string::npos) << out;
}

// The independent references need the Python environment of scripts/pyenv.sh.
std::string python_or_skip() {
  const char* py = std::getenv("SAMEPAGE_PYTHON");
  return py != nullptr && *py != '\0' ? py : "";
}

TEST(SynthModelPython, GgufPackageReadsEveryDtypeWithinItsEncodingBound) {
  const std::string py = python_or_skip();
  if (py.empty()) GTEST_SKIP() << "SAMEPAGE_PYTHON unset (scripts/test.sh sets it to scripts/pyenv.sh's python)";
  const std::string dir = temp_dir();
  for (bool untied : {false, true}) {
    std::string files;
    std::string reference;
    for (uint32_t d : kAllDtypes) {
      synth::Options o = tiny_options(static_cast<synth::Dtype>(d));
      o.untied = untied;
      const std::string path = write_tiny(dir, o, std::string(synth::dtype_traits(o.dtype).name) + (untied ? "u" : ""));
      (d == synth::DTYPE_F32 ? reference : files) += " '" + path + "'";
    }
    if (untied) {  // the Q4 embedding and output path too
      synth::Options o = tiny_options(synth::DTYPE_Q4_0);
      o.untied = true;
      o.embd_dtype = synth::DTYPE_Q4_1;
      files += " '" + write_tiny(dir, o, "q4_0-embd-q4_1") + "'";
    }
    std::string out;
    const std::string script = beside_test_binary(SAMEPAGE_TEST_LLM_SCRIPTS_DIR) + "/check_synth_gguf.py";
    EXPECT_EQ(run_command("'" + py + "' '" + script + "' --reference" + reference + files, &out), 0) << out;
    EXPECT_NE(out.find(" 0 failures"), std::string::npos) << out;
  }
}

// The numbers after "key": [ in a JSON text, parsed with strtod (which reads NaN and Infinity too).
std::vector<double> json_array(const std::string& text, const std::string& key) {
  std::vector<double> out;
  size_t at = text.find("\"" + key + "\": [");
  if (at == std::string::npos) return out;
  const char* p = text.c_str() + text.find('[', at) + 1;
  while (*p != ']' && *p != '\0') {
    char* end = nullptr;
    out.push_back(std::strtod(p, &end));
    if (end == p) return {};
    p = end;
    while (*p == ',' || *p == ' ') ++p;
  }
  return out;
}

TEST(SynthModelPython, ReferenceForwardGivesFiniteLogitsForEveryDtype) {
  const std::string py = python_or_skip();
  if (py.empty()) GTEST_SKIP() << "SAMEPAGE_PYTHON unset (scripts/test.sh sets it to scripts/pyenv.sh's python)";
  const std::string dir = temp_dir();
  const std::string script = beside_test_binary(SAMEPAGE_TEST_LLM_SCRIPTS_DIR) + "/reference_forward.py";
  for (uint32_t d : kAllDtypes) {
    synth::Options o = tiny_options(static_cast<synth::Dtype>(d));
    o.qkv_bias = d == synth::DTYPE_Q8_0;  // one qwen2 (bias, NEOX RoPE) model among them
    SCOPED_TRACE(synth::dtype_traits(o.dtype).name);
    const std::string model = write_tiny(dir, o, synth::dtype_traits(o.dtype).name);
    const std::string json = model + ".json";
    std::string out;
    ASSERT_EQ(run_command("'" + py + "' '" + script + "' --model '" + model + "' --ids 1,300,301,302 --greedy 8 --out '" +
                      json + "'",
                  &out),
              0)
        << out;
    std::ifstream in(json);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::vector<double> logits = json_array(text, "last_logits");
    ASSERT_EQ(logits.size(), 512u);
    double lo = logits[0], hi = logits[0];
    for (double l : logits) {
      ASSERT_TRUE(std::isfinite(l));
      lo = std::min(lo, l), hi = std::max(hi, l);
    }
    EXPECT_GT(hi - lo, 4.0);  // spread out, not degenerate
    const std::vector<double> ids = json_array(text, "ids");
    ASSERT_EQ(ids.size(), 8u);
    for (double id : ids) EXPECT_TRUE(id >= 0 && id < 512);
    EXPECT_EQ(json_array(text, "top2_gap").size(), 8u);
  }
}

}  // namespace
