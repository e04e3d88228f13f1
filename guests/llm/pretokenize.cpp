#include "pretokenize.h"

namespace llm {
namespace {

bool is_cr_lf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

uint32_t ascii_lower(uint32_t cp) { return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp; }

// Length in chars of a contraction ('s 't 're 've 'm 'll 'd) at c[i], or 0.
// fold: match case-insensitively, as (?i:...) does; U+017F LATIN SMALL LETTER
// LONG S folds to 's' under Unicode case folding.
uint32_t contraction(const Utf8Char* c, uint32_t i, uint32_t end, bool fold) {
  if (c[i].cp != '\'' || i + 1 >= end) return 0;
  auto norm = [fold](uint32_t cp) {
    if (!fold) return cp;
    if (cp == 0x17F) return uint32_t{'s'};
    return ascii_lower(cp);
  };
  uint32_t a = norm(c[i + 1].cp);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= end) return 0;
  uint32_t b = norm(c[i + 2].cp);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

uint32_t run_of(const Utf8Char* c, uint32_t i, uint32_t end, CharClass cls) {
  while (i < end && c[i].cls == cls) ++i;
  return i;
}

// \s+(?!\S)|\s+ at a whitespace char: the run, less its last char when a
// non-space follows and the run has more than one char (so that char can lead the next word).
uint32_t trailing_space(const Utf8Char* c, uint32_t i, uint32_t end) {
  uint32_t j = run_of(c, i, end, CharClass_space);
  if (j < end && j - i >= 2) return j - 1;
  return j;
}

// End of the GPT-2 regex's match at c[i] (always > i).
uint32_t match_gpt2(const Utf8Char* c, uint32_t i, uint32_t end) {
  if (uint32_t n = contraction(c, i, end, false)) return i + n;
  uint32_t start = (c[i].cp == ' ' && i + 1 < end) ? i + 1 : i;  // the optional leading space
  for (CharClass cls : {CharClass_letter, CharClass_number, CharClass_other}) {
    if (c[i].cls == cls) return run_of(c, i, end, cls);
    if (start != i && c[start].cls == cls) return run_of(c, start, end, cls);
  }
  return trailing_space(c, i, end);
}

// End of the Llama 3 (max_digits 3) or Qwen2 (max_digits 1) regex's match at c[i].
uint32_t match_llama3(const Utf8Char* c, uint32_t i, uint32_t end, uint32_t max_digits) {
  if (uint32_t n = contraction(c, i, end, true)) return i + n;
  const Utf8Char& ch = c[i];
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (ch.cls == CharClass_letter) return run_of(c, i, end, CharClass_letter);
  if (ch.cls != CharClass_number && !is_cr_lf(ch.cp) && i + 1 < end && c[i + 1].cls == CharClass_letter)
    return run_of(c, i + 1, end, CharClass_letter);
  // \p{N}{1,max_digits}
  if (ch.cls == CharClass_number) {
    uint32_t j = i;
    while (j < end && j - i < max_digits && c[j].cls == CharClass_number) ++j;
    return j;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  uint32_t start = (ch.cp == ' ' && i + 1 < end) ? i + 1 : i;
  if (c[start].cls == CharClass_other) {
    uint32_t j = run_of(c, start, end, CharClass_other);
    while (j < end && is_cr_lf(c[j].cp)) ++j;
    return j;
  }
  // \s*[\r\n]+ : through the last \r or \n of the whitespace run.
  uint32_t j = run_of(c, i, end, CharClass_space);
  for (uint32_t k = j; k > i; --k) {
    if (is_cr_lf(c[k - 1].cp)) return k;
  }
  return trailing_space(c, i, end);
}

void split_range(PreTokenizer kind, const Utf8Char* c, uint32_t begin, uint32_t end,
                 std::vector<PrePiece>& pieces) {
  uint32_t i = begin;
  while (i < end) {
    uint32_t j = 0;
    switch (kind) {
      case PreTokenizer_llama3: j = match_llama3(c, i, end, 3); break;
      case PreTokenizer_qwen2: j = match_llama3(c, i, end, 1); break;
      default: j = match_gpt2(c, i, end); break;
    }
    pieces.push_back(PrePiece{i, j});
    i = j;
  }
}

}  // namespace

void pretokenize(PreTokenizer kind, const std::vector<Utf8Char>& chars, std::vector<PrePiece>& pieces) {
  pieces.clear();
  const Utf8Char* c = chars.data();
  auto n = static_cast<uint32_t>(chars.size());
  if (kind != PreTokenizer_smollm) {
    split_range(kind, c, 0, n, pieces);
    return;
  }
  // Digits(individual_digits) first: each \p{N} alone, GPT-2 on the runs between.
  uint32_t seg = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (c[i].cls != CharClass_number) continue;
    split_range(PreTokenizer_gpt2, c, seg, i, pieces);
    pieces.push_back(PrePiece{i, i + 1});
    seg = i + 1;
  }
  split_range(PreTokenizer_gpt2, c, seg, n, pieces);
}

}  // namespace llm
