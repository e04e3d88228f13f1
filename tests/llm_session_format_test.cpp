// Session files natively (guests/llm/{safetensors,session,sha256}.cpp): the
// round trip, SHA-256 against published vectors, and tampered files — every
// truncation, broken framing, and well-formed files with hostile contents —
// each refused with a message that names the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "safetensors.h"
#include "session.h"
#include "sha256.h"

namespace llm {
namespace {

SessionIdentity small_identity() {
  SessionIdentity id;
  id.arch = "llama";
  id.n_layers = 2, id.dim = 8, id.ffn_dim = 16, id.n_heads = 2, id.n_kv_heads = 1, id.head_dim = 4;
  id.vocab_size = 100;
  id.model_hash_scope = "header";
  id.model_sha256 = sha256_hex(reinterpret_cast<const uint8_t*>("model"), 5);
  id.kv_f16 = true;
  id.n_ctx = 16;
  return id;
}

SessionState small_state() {
  SessionState st;
  st.tokens = {1, 2, 3, 4, 99};
  st.n_past = 4;
  st.rng_state = 0xfedcba9876543210ull;
  st.window = {3, 4, 99};
  st.has_chat = true;
  st.messages = {{"system", "be \"brief\"\n\t\x01"}, {"user", "caf\xc3\xa9?"}, {"assistant", ""}};
  return st;
}

// A session whose K rows of layer l hold l * 16 + byte index, V rows 0x80 + that.
std::vector<uint8_t> small_file(const SessionIdentity& id, const SessionState& st) {
  SessionFile f = build_session(id, st, "chat");
  for (size_t l = 0; l < f.k.size(); ++l)
    for (size_t b = 0; b < st.n_past * id.n_kv_heads * id.head_dim * 2; ++b) {
      f.k[l][b] = uint8_t(l * 16 + b);
      f.v[l][b] = uint8_t(0x80 + l * 16 + b);
    }
  return f.bytes;
}

// The file with its JSON header replaced (the data kept), length fixed up.
std::vector<uint8_t> with_header(const std::vector<uint8_t>& file, const std::string& header) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[size_t(i)];
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(uint64_t(header.size()) >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), file.begin() + long(8 + n), file.end());
  return out;
}

std::string header_of(const std::vector<uint8_t>& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[size_t(i)];
  return std::string(file.begin() + 8, file.begin() + long(8 + n));
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// read_session must refuse bytes with a message containing want.
void expect_refused(const std::vector<uint8_t>& bytes, const std::string& want, const SessionIdentity& id) {
  Result<SessionView> r = read_session(bytes.data(), bytes.size(), id);
  ASSERT_FALSE(r.is_ok()) << "accepted; wanted: " << want;
  EXPECT_NE(r.message().find(want), std::string::npos) << r.message();
}

TEST(LlmSessionFormat, Sha256MatchesPublishedVectors) {
  EXPECT_EQ(sha256_hex(nullptr, 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(reinterpret_cast<const uint8_t*>("abc"), 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256_hex(reinterpret_cast<const uint8_t*>(two_blocks.data()), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a', fed in uneven pieces: the buffering across blocks.
  Sha256 s;
  const std::string a(999, 'a');
  const std::string b(1000, 'a');
  for (int i = 0; i < 1000; ++i) s.update(reinterpret_cast<const uint8_t*>(a.data()), a.size());
  s.update(reinterpret_cast<const uint8_t*>(b.data()), b.size());  // 999,000 + 1,000
  EXPECT_EQ(s.finish_hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(LlmSessionFormat, RoundTripKeepsEveryField) {
  const SessionIdentity id = small_identity();
  const SessionState st = small_state();
  const std::vector<uint8_t> file = small_file(id, st);
  Result<SessionView> r = read_session(file.data(), file.size(), id);
  ASSERT_TRUE(r.is_ok()) << r.message();
  const SessionState& got = r.value().state;
  EXPECT_EQ(got.tokens, st.tokens);
  EXPECT_EQ(got.n_past, st.n_past);
  EXPECT_EQ(got.rng_state, st.rng_state);
  EXPECT_EQ(got.window, st.window);
  ASSERT_TRUE(got.has_chat);
  ASSERT_EQ(got.messages.size(), st.messages.size());
  for (size_t i = 0; i < st.messages.size(); ++i) {
    EXPECT_EQ(got.messages[i].role, st.messages[i].role);
    EXPECT_EQ(got.messages[i].content, st.messages[i].content);
  }
  ASSERT_EQ(r.value().k.size(), 2u);
  for (size_t l = 0; l < 2; ++l)
    for (size_t b = 0; b < 32; ++b) {
      EXPECT_EQ(r.value().k[l][b], uint8_t(l * 16 + b));
      EXPECT_EQ(r.value().v[l][b], uint8_t(0x80 + l * 16 + b));
    }
  // The data section is 8-byte aligned, so cache rows can be viewed in place.
  EXPECT_EQ((8 + header_of(file).size()) % 8, 0u);
  Result<std::string> scope = session_hash_scope(file.data(), file.size());
  ASSERT_TRUE(scope.is_ok()) << scope.message();
  EXPECT_EQ(scope.value(), "header");
}

TEST(LlmSessionFormat, JsonStringsRoundTripWithEscapes) {
  SafetensorsWriter w;
  const std::string odd = "q\"b\\s/\n\r\t\x1f caf\xc3\xa9";
  w.add_metadata(odd, odd);
  w.add_tensor("x", StDtype::St_u8, {3});
  std::vector<uint8_t> file = w.finish();
  Result<SafetensorsFile> f = SafetensorsFile::parse(file.data(), file.size());
  ASSERT_TRUE(f.is_ok()) << f.message();
  ASSERT_NE(f.value().metadata(odd), nullptr);
  EXPECT_EQ(*f.value().metadata(odd), odd);
  // \u escapes as other writers emit them, a surrogate pair included.
  const std::string header = R"({"__metadata__":{"k":"\u00e9\ud83d\ude00\/"},"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})";
  std::vector<uint8_t> other = with_header(file, header);
  f = SafetensorsFile::parse(other.data(), other.size());
  ASSERT_TRUE(f.is_ok()) << f.message();
  EXPECT_EQ(*f.value().metadata("k"), "\xc3\xa9\xf0\x9f\x98\x80/");
}

TEST(LlmSessionFormat, EveryTruncationIsRefused) {
  const SessionIdentity id = small_identity();
  const std::vector<uint8_t> file = small_file(id, small_state());
  for (size_t n = 0; n < file.size(); ++n) {
    std::vector<uint8_t> cut(file.begin(), file.begin() + long(n));  // exact bounds for ASan
    Result<SessionView> r = read_session(cut.data(), cut.size(), id);
    EXPECT_FALSE(r.is_ok()) << n;
    EXPECT_FALSE(r.message().empty()) << n;
  }
  std::vector<uint8_t> longer = file;
  longer.push_back(0);
  expect_refused(longer, "bytes no tensor covers", id);
}

TEST(LlmSessionFormat, BrokenFramingIsRefused) {
  const SessionIdentity id = small_identity();
  const std::vector<uint8_t> file = small_file(id, small_state());
  const std::string h = header_of(file);
  std::vector<uint8_t> huge = file;
  huge[7] = 0x7f;
  expect_refused(huge, "header length", id);
  expect_refused(with_header(file, "[]"), "expected '{'", id);
  expect_refused(with_header(file, h + "x"), "after the closing brace", id);
  expect_refused(with_header(file, replaced(h, "\"version\":\"1\"", "\"version\":\"1\\q\"")), "bad escape", id);
  expect_refused(with_header(file, replaced(h, "\"version\":\"1\"", "\"version\":\"\\ud800\"")), "unpaired surrogate",
                 id);
  expect_refused(with_header(file, replaced(h, "\"version\":\"1\"", "\"version\":\"1\",\"version\":\"1\"")), "repeated",
                 id);
  expect_refused(with_header(file, replaced(h, "\"dtype\":\"I32\"", "\"dtype\":\"I64\"")), "unsupported dtype", id);
  expect_refused(with_header(file, replaced(h, "\"shape\":[5]", "\"shape\":[5.0]")), "fraction", id);
  expect_refused(with_header(file, replaced(h, "\"shape\":[5]", "\"shape\":[99999999999999999999]")), "too large", id);
  expect_refused(with_header(file, replaced(h, "\"shape\":[5]", "\"shape\":[1,1,1,1,1,1,1,1,5]")), "more than 8", id);
  expect_refused(with_header(file, replaced(h, "\"shape\":[5]", "\"shape\":[6]")), "data_offsets hold", id);
  expect_refused(with_header(file, replaced(h, "\"data_offsets\":[0,20]", "\"data_offsets\":[20,0]")), "outside", id);
  // Two tensors over the same bytes, or a hole: the tiling check.
  expect_refused(with_header(file, replaced(h, "\"data_offsets\":[20,32]", "\"data_offsets\":[8,20]")), "gap or overlaps",
                 id);
  expect_refused(with_header(file, replaced(h, "\"tokens\":{", "\"tokens\":{\"extra\":1,")), "unexpected", id);
}

// A header of the most tensors, long names that share a prefix (each tensor
// one byte): unique names accepted, a repeated one refused. Names are hashed
// once each (comparing every pair cost names² times the shared prefix).
std::vector<uint8_t> many_names_file(size_t n, size_t prefix, bool repeat_last) {
  const std::string common(prefix, 'a');
  std::string h = "{";
  for (size_t i = 0; i < n; ++i) {
    const size_t name = repeat_last && i + 1 == n ? i - 1 : i;
    h += (i ? "," : "") + std::string("\"") + common + std::to_string(name) + "\":{\"dtype\":\"U8\",\"shape\":[1],"
         "\"data_offsets\":[" + std::to_string(i) + "," + std::to_string(i + 1) + "]}";
  }
  h += "}";
  std::vector<uint8_t> file(8 + h.size() + n, 7);
  for (int i = 0; i < 8; ++i) file[size_t(i)] = uint8_t(uint64_t(h.size()) >> (8 * i));
  std::memcpy(file.data() + 8, h.data(), h.size());
  return file;
}

TEST(LlmSessionFormat, ManyLongNamesAreCheckedOnceEach) {
  const std::vector<uint8_t> unique = many_names_file(kStMaxTensors, 4096, false);
  Result<SafetensorsFile> ok = SafetensorsFile::parse(unique.data(), unique.size());
  ASSERT_TRUE(ok.is_ok()) << ok.message();
  EXPECT_EQ(ok.value().tensors().size(), kStMaxTensors);
  const std::vector<uint8_t> repeated = many_names_file(kStMaxTensors, 4096, true);
  Result<SafetensorsFile> bad = SafetensorsFile::parse(repeated.data(), repeated.size());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.message().find("repeated"), std::string::npos) << bad.message();
}

TEST(LlmSessionFormat, HostileContentsAreRefused) {
  const SessionIdentity id = small_identity();
  const SessionState st = small_state();
  const std::vector<uint8_t> file = small_file(id, st);
  const std::string h = header_of(file);
  auto meta = [&](const std::string& from, const std::string& to) { return with_header(file, replaced(h, from, to)); };
  expect_refused(meta("samepage.llm.session", "samepage.llm.sessioX"), "not a samepage LLM session", id);
  expect_refused(meta("\"version\":\"1\"", "\"version\":\"2\""), "format version 2", id);
  expect_refused(meta("\"architecture\":\"llama\"", "\"architecture\":\"qwen2\""), "'qwen2' model", id);
  expect_refused(meta("\"n_layers\":\"2\"", "\"n_layers\":\"3\""), "n_layers 3, this model has 2", id);
  expect_refused(meta("\"vocab_size\":\"100\"", "\"vocab_size\":\"1x\""), "not a number", id);
  expect_refused(meta(id.model_sha256, std::string(64, '0')), "another model file", id);
  expect_refused(meta("\"kv_dtype\":\"F16\"", "\"kv_dtype\":\"F32\""), "F32 KV cache", id);
  expect_refused(meta("\"n_past\":\"4\"", "\"n_past\":\"17\""), "exceeds this run's context of 16", id);
  expect_refused(meta("\"n_past\":\"4\"", "\"n_past\":\"18446744073709551616\""), "not a number", id);
  // n_past within the context but beyond the history or the rows saved.
  SessionState more = st;
  more.tokens.resize(3);
  more.n_past = 3;
  std::vector<uint8_t> short_history = small_file(id, more);
  std::string sh = header_of(short_history);
  expect_refused(with_header(short_history, replaced(sh, "\"n_past\":\"3\"", "\"n_past\":\"4\"")), "beyond the 3 tokens",
                 id);
  SessionState bad_token = st;
  bad_token.tokens[0] = 100;
  expect_refused(small_file(id, bad_token), "token id 100, outside the vocabulary of 100", id);
  SessionState bad_window = st;
  bad_window.window[0] = -5;
  expect_refused(small_file(id, bad_window), "token id -5", id);
  // Another run's cache: the same file read by an f32 run, or with a wider cache.
  SessionIdentity f32_run = id;
  f32_run.kv_f16 = false;
  expect_refused(file, "(drop --kv-f32)", f32_run);
  SessionIdentity small_ctx = id;
  small_ctx.n_ctx = 3;
  expect_refused(file, "raise -c", small_ctx);
  // A chat blob with a bad length or role.
  SessionState role = st;
  role.messages[0].role = "root";
  expect_refused(small_file(id, role), "unknown role", id);
  std::vector<uint8_t> cut_chat = file;
  // The blob ends {u32 9, "assistant", u32 0}: the top byte of that 9.
  cut_chat[cut_chat.size() - 4 - 9 - 1] = 0xff;
  expect_refused(cut_chat, "bad length", id);
  // A generate session has no chat tensor; an extra tensor is refused.
  SessionState no_chat = st;
  no_chat.has_chat = false;
  std::vector<uint8_t> plain_file = small_file(id, no_chat);
  Result<SessionView> plain = read_session(plain_file.data(), plain_file.size(), id);
  ASSERT_TRUE(plain.is_ok()) << plain.message();
  EXPECT_FALSE(plain.value().state.has_chat);
  expect_refused(with_header(file, replaced(h, "\"chat.messages\"", "\"chat.other\"")), "tensors, a session", id);
}

}  // namespace
}  // namespace llm
