#include "vocab.h"

#include <unordered_set>

#include "random.h"

namespace synth {
namespace {

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else {  // the byte alphabet stays below U+0800
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

bool is_letter(uint8_t b) { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'); }

}  // namespace

std::string byte_token(uint8_t b) {
  // GPT-2: printable bytes ('!'..'~', 0xa1..0xac, 0xae..0xff) stand for
  // themselves; the other 68 take code points 256, 257, ... in byte order.
  const auto printable = [](uint32_t c) {
    return (c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) || (c >= 0xae && c <= 0xff);
  };
  uint32_t cp = b;
  if (!printable(b)) {
    uint32_t n = 0;
    for (uint32_t c = 0; c < b; ++c) n += printable(c) ? 0 : 1;
    cp = 256 + n;
  }
  std::string out;
  append_utf8(&out, cp);
  return out;
}

Vocab make_vocab(uint32_t n_vocab, uint64_t seed) {
  Vocab v;
  v.tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  v.token_types.assign(kNumControlTokens, kTokenTypeControl);
  for (uint32_t b = 0; b < 256; ++b) v.tokens.push_back(byte_token(static_cast<uint8_t>(b)));
  v.token_types.resize(v.tokens.size(), kTokenTypeNormal);

  // Word-like merges, so that ordinary text tokenizes into multi-byte tokens:
  // a word start ("Ġ" = space, or letters) followed by a run of letters.
  std::vector<uint32_t> starts;  // ids that may begin a merged token
  std::vector<uint32_t> tails;   // ids made of letters only
  // Letters by English frequency, lower case first: merges drawn early (the
  // draw favours the front of each list) then apply to ordinary text.
  const char* letters = "etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLCUMWFGYPBVKJXQZ";
  starts.push_back(kNumControlTokens + ' ');
  for (const char* c = letters; *c != '\0'; ++c) {
    starts.push_back(kNumControlTokens + static_cast<uint8_t>(*c));
    tails.push_back(kNumControlTokens + static_cast<uint8_t>(*c));
  }
  std::unordered_set<std::string> seen(v.tokens.begin(), v.tokens.end());
  Rng rng(mix64(seed ^ 0x766f636162756c61ull));
  constexpr size_t kMaxTokenBytes = 16;
  while (v.tokens.size() < n_vocab) {
    // Squaring the uniform draw favours short, early tokens, as real merges do.
    const double a = rng.next_unit(), b = rng.next_unit();
    const uint32_t left = starts[static_cast<size_t>(a * a * static_cast<double>(starts.size()))];
    const uint32_t right = tails[static_cast<size_t>(b * b * static_cast<double>(tails.size()))];
    std::string text = v.tokens[left] + v.tokens[right];
    if (text.size() > kMaxTokenBytes || !seen.insert(text).second) continue;
    const uint32_t id = static_cast<uint32_t>(v.tokens.size());
    v.merges.push_back(v.tokens[left] + " " + v.tokens[right]);
    v.tokens.push_back(std::move(text));
    v.token_types.push_back(kTokenTypeNormal);
    starts.push_back(id);
    bool letters = true;
    for (char c : v.tokens[id]) letters = letters && is_letter(static_cast<uint8_t>(c));
    if (letters) tails.push_back(id);
  }
  return v;
}

const char kChatMlTemplate[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}";

}  // namespace synth
