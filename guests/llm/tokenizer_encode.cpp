// The two encoders: byte-level BPE by merge rank, and SentencePiece-style BPE
// by token score. Both keep the word as a linked list of symbols and a heap of
// candidate merges, so a word of n bytes costs O(n log n), not O(n^2).
#include <algorithm>

#include "byte_unicode.h"
#include "tokenizer.h"
#include "unicode.h"

namespace llm {
namespace {

struct Symbol {
  int32_t id;    // BPE: token id, -1 once merged away
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
};

// A BPE candidate: merge symbol left with its next. Lowest rank first, then leftmost,
// as Hugging Face's BPE does.
struct BpeCandidate {
  int32_t rank;
  int32_t left;
  int32_t left_id;   // ids when queued: a stale entry no longer matches
  int32_t right_id;
};
bool bpe_after(const BpeCandidate& a, const BpeCandidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
}

// An SPM candidate: highest score first, then leftmost.
struct SpmCandidate {
  float score;
  int32_t left;
  uint32_t n_bytes;  // bytes of left+right when queued: a stale entry no longer matches
};
bool spm_after(const SpmCandidate& a, const SpmCandidate& b) {
  return a.score != b.score ? a.score < b.score : a.left > b.left;
}

}  // namespace

const Tokenizer::Merge* Tokenizer::find_merge(int32_t left, int32_t right) const {
  uint64_t key = (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
  auto it = merges_.find(key);
  return it == merges_.end() ? nullptr : &it->second;
}

void Tokenizer::encode_fragment(std::string_view text, bool first_fragment, std::vector<int32_t>& out) const {
  if (model_ == Model_spm) {
    encode_spm(text, add_space_prefix_ && first_fragment, out);
    return;
  }
  std::vector<Utf8Char> chars;
  std::vector<PrePiece> pieces;
  utf8_decode(text, chars);
  pretokenize(pre_, chars, pieces);
  for (const PrePiece& p : pieces) {
    uint32_t begin = chars[p.begin].offset;
    uint32_t end = chars[p.end - 1].offset + chars[p.end - 1].n_bytes;
    encode_bpe_piece(text.substr(begin, end - begin), out);
  }
}

void Tokenizer::encode_bpe_piece(std::string_view bytes, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    std::string mapped;
    byte_level_encode(bytes, mapped);
    if (int32_t id = find_token(mapped); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Symbol> syms;
  syms.reserve(bytes.size());
  for (char ch : bytes) {
    int32_t id = byte_ids_[static_cast<uint8_t>(ch)];
    if (id < 0) continue;  // a byte the vocabulary lacks is dropped, as BPE without <unk> does
    auto index = static_cast<int32_t>(syms.size());
    syms.push_back(Symbol{id, index - 1, -1});
    if (index > 0) syms[index - 1].next = index;
  }
  if (syms.empty()) return;
  std::vector<BpeCandidate> heap;
  auto push = [&](int32_t left) {
    if (left < 0 || syms[left].next < 0) return;
    int32_t l = syms[left].id, r = syms[syms[left].next].id;
    if (const Merge* m = find_merge(l, r)) {
      heap.push_back(BpeCandidate{m->rank, left, l, r});
      std::push_heap(heap.begin(), heap.end(), bpe_after);
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), bpe_after);
    BpeCandidate c = heap.back();
    heap.pop_back();
    Symbol& left = syms[c.left];
    if (left.id != c.left_id || left.next < 0 || syms[left.next].id != c.right_id) continue;
    // Token lengths only grow, so matching ids mean this pair is live now.
    Symbol& right = syms[left.next];
    left.id = find_merge(c.left_id, c.right_id)->result;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = c.left;
    right.id = -1;
    push(left.prev);
    push(c.left);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

void Tokenizer::encode_spm(std::string_view text, bool add_prefix, std::vector<int32_t>& out) const {
  // Spaces become "▁"; the dummy prefix makes a word at the start look like one after a space.
  std::string norm;
  norm.reserve(text.size() + 8);
  if (add_prefix) norm += kSpmSpace;
  for (char ch : text) {
    if (ch == ' ') norm += kSpmSpace; else norm.push_back(ch);
  }
  if (norm.empty()) return;
  // Symbols start as UTF-8 chars (an invalid byte alone); offsets/lengths into norm.
  std::vector<Symbol> syms;
  std::vector<uint32_t> offs, lens;
  for (size_t pos = 0; pos < norm.size();) {
    uint32_t cp = 0;
    uint32_t n = utf8_sequence_length(norm, pos, &cp);
    if (n == 0) n = 1;
    auto index = static_cast<int32_t>(syms.size());
    syms.push_back(Symbol{0, index - 1, -1});
    if (index > 0) syms[index - 1].next = index;
    offs.push_back(static_cast<uint32_t>(pos));
    lens.push_back(n);
    pos += n;
  }
  auto mergeable = [this](std::string_view s) {
    int32_t id = find_token(s);
    return (id >= 0 && (types_[id] == TokenType_normal || types_[id] == TokenType_user_defined)) ? id : -1;
  };
  std::vector<SpmCandidate> heap;
  auto push = [&](int32_t left) {
    if (left < 0 || syms[left].next < 0) return;
    uint32_t n = lens[left] + lens[syms[left].next];
    int32_t id = mergeable(std::string_view(norm).substr(offs[left], n));
    if (id < 0) return;
    heap.push_back(SpmCandidate{scores_[id], left, n});
    std::push_heap(heap.begin(), heap.end(), spm_after);
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), spm_after);
    SpmCandidate c = heap.back();
    heap.pop_back();
    Symbol& left = syms[c.left];
    if (lens[c.left] == 0 || left.next < 0 || lens[c.left] + lens[left.next] != c.n_bytes) continue;
    int32_t r = left.next;
    lens[c.left] += lens[r];
    lens[r] = 0;
    left.next = syms[r].next;
    if (left.next >= 0) syms[left.next].prev = c.left;
    push(left.prev);
    push(c.left);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    std::string_view piece = std::string_view(norm).substr(offs[i], lens[i]);
    if (int32_t id = mergeable(piece); id >= 0) {
      out.push_back(id);
      continue;
    }
    // Byte fallback: a char the vocabulary lacks becomes its <0xNN> tokens, else <unk>.
    bool all_bytes = std::all_of(piece.begin(), piece.end(),
                                 [this](char ch) { return byte_ids_[static_cast<uint8_t>(ch)] >= 0; });
    if (all_bytes) {
      for (char ch : piece) out.push_back(byte_ids_[static_cast<uint8_t>(ch)]);
    } else if (unk_id_ >= 0) {
      out.push_back(unk_id_);
    }
  }
}

}  // namespace llm
