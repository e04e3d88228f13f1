#!/usr/bin/env python3
"""Writes tests/data/tokenizer_corpus.json: strings on which our tokenizer must
give the same ids as Hugging Face tokenizers (scripts/tokenizer_reference.py).
Hand-written cases per category, then seeded random mixes of the same pools so
that the categories meet each other (a digit after an emoji, a tab before
Cyrillic...). Deterministic: rerunning gives the same file.

Regenerate (from the repository root):
    python3 scripts/gen_tokenizer_corpus.py > tests/data/tokenizer_corpus.json
"""
import json
import random

SCRIPTS = {
    "latin": ["café", "naïve", "über", "Ångström", "façade", "niño", "Straße", "œuvre", "Zoë", "déjà vu",
              "ÉCOLE", "Łódź", "İstanbul", "ğ", "Dvořák", "þorn", "Ærø"],
    "cyrillic": ["Привет", "мир", "Москва", "ЁЛКА", "съешь же ещё этих мягких французских булок", "Україна", "Ђорђе"],
    "greek": ["Καλημέρα", "κόσμε", "ΑΘΗΝΑ", "αβγδε", "ψυχή", "Ἀθῆναι"],
    "cjk": ["你好", "世界", "中文分词测试", "日本語のテキスト", "カタカナ", "ひらがな", "한국어", "안녕하세요", "漢字かな交じり文"],
    "arabic": ["مرحبا", "العربية", "بِسْمِ اللَّهِ", "السلام عليكم", "٠١٢٣٤٥٦٧٨٩"],
    "hebrew": ["שלום", "עברית", "בְּרֵאשִׁית", "ירושלים"],
    "devanagari": ["नमस्ते", "हिन्दी", "संस्कृतम्", "०१२३४५", "क्षत्रिय"],
    "thai": ["สวัสดี", "ภาษาไทย", "ขอบคุณครับ", "๑๒๓"],
    "other": ["ሰላም", "Բարեւ", "გამარჯობა", "ᚠᛇᚻ", "ꦲꦏ꧀ꦱꦫ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Ⅻ", "½", "²³", "①②"],
}
EMOJI = ["😀", "🎉", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵", "❤️", "🤷🏻‍♀️", "✋🏿", "🧑🏾‍🚀", "🐍", "⭐", "🔥🔥🔥",
         "©", "™", "☃", "🫠"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2003", "\u2028",
          "\u000b", "\u000c", "\u0085", "    \n\t  ", "\n\n\n\n"]
NUMBERS = ["0", "7", "42", "123", "1234", "3.14159", "1,000,000", "-17", "+1e-9", "0x1F", "2024-06-01",
           "12345678901234567890", "99.99%", "$5", "€1.234,56", "٣", "१२३", "１２３"]
PUNCT = ["!", "?", "...", "—", "–", "«", "»", "“", "”", "‘", "’", "(", ")", "[", "]", "{", "}", "<", ">", "@",
         "#", "&&", "||", "->", "=>", "::", ";", "/", "\\", "~", "`", "^", "*", "%", "¿", "¡", "•", "…", "§"]
CONTRACTIONS = ["it's", "don't", "we're", "I've", "I'm", "you'll", "he'd", "IT'S", "DON'T", "WE'RE", "YOU'LL",
                "She'D", "'s", "'t", "''", "rock'n'roll", "o'clock", "y'all'd've", " 'tis", "'ll'", "l'homme"]
ENGLISH = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "Hello", "world",
           "tokenizer", "SmolLM", "HuggingFace", "GPT", "LLaMA", "internationalization", "a", "I", "OK", "USA",
           "CamelCaseIdentifier", "snake_case_name", "UPPERCASE", "mIxEd"]
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<file_sep>", "<filename>",
           "<gh_stars>", "<issue_start>", "<jupyter_code>", "<empty_output>", "<|im_start", "im_end|>", "<|", "|>"]

HAND = [
    "", " ", "a", "Hello, world!", "Hello world", " Hello", "  Hello", "Hello  world", "hello\nworld",
    "The quick brown fox jumps over the lazy dog.",
    "It's a dog's life, isn't it? We're sure they'll say you'd've known.",
    "I'M SHOUTING! DON'T YOU'LL WE'VE",
    "   leading spaces", "trailing spaces   ", "\ttab\tseparated\tvalues\t", "line1\r\nline2\r\n",
    "a\n\n\nb", "a \n b", "\n", "\n\n", " \n", "\t \t", "x\u00a0y", "x\u3000y", "x\u2003\u2003y",
    "3.14159265358979323846", "1234567890", "12 345 678", "Call 555-0199 now", "v1.2.3-rc4", "0.5x", "1st 2nd 3rd 4th",
    "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct?x=1&y=2#top",
    "mailto:someone@example.com", "ftp://ftp.example.org/pub/file.tar.gz", "http://例え.jp/パス",
    "def add(a, b):\n    return a + b\n",
    "int main(int argc, char** argv) {\n  printf(\"%d\\n\", argc);\n  return 0;\n}\n",
    "fn main() { let v: Vec<u32> = (0..10).map(|x| x * x).collect(); println!(\"{:?}\", v); }",
    "const f = async (x) => { await fetch(`/api/${x}`); };",
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name DESC;",
    "<div class=\"box\"><a href='/'>Home</a></div>",
    "{\"key\": [1, 2, 3], \"nested\": {\"ok\": true, \"v\": null}}",
    "#include <vector>\ntemplate <typename T> T max(T a, T b) { return a > b ? a : b; }",
    "for i in range(10):\n\tif i % 2 == 0:\n\t\tprint(i)",
    "$ ls -la | grep '.txt' > out.log 2>&1",
    "x += 1; y -= 2; z *= 3; w /= 4; a <<= 1; b >>= 2; c ^= d;",
    "😀😀😀", "👩‍👩‍👧‍👦 family", "👍🏻👍🏼👍🏽👍🏾👍🏿", "🏳️‍⚧️", "I ❤️ NY", "🇺🇸🇬🇧🇩🇪",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n",
    "<|endoftext|><|endoftext|>", "text<|im_end|>text", "<|im_start|><|im_end|>", "< |im_start| >",
    "<<|im_start|>>", "<|im_start|>|>", "<|im_end|>\n\n", " <|im_start|> ",
    "Ünïcödé ţëxţ wïţħ ďïäçŕïţïçš", "ǅ ǈ ǋ ǲ", "ﬁ ﬂ ﬀ", "Ｆｕｌｌｗｉｄｔｈ", "ｶﾀｶﾅ",
    "e\u0301 (combining acute)", "a\u0308o\u0308u\u0308", "\u200b zero width \u200c\u200d", "\ufeffBOM",
    "tab\u000bvertical\u000cformfeed", "nel\u0085char", "ls\u2028ps\u2029",
    "mixed 日本語 and English and Русский and ελληνικά", "مرحبا بالعالم Hello שלום",
    "श्री 123 ราคา ๑๒๓ บาท", "price: ¥1000 / £20 / ₹500 / ₿0.01",
    "a'b'c", "'", "''", "'''", "' s", "'S", "'ſ", "don'T", "'Re 'VE 'LL 'D 'M",
    "!!!???...", "---", "___", "***bold***", "~~strike~~", "`code`", "```python\nprint(1)\n```",
]


def build():
    rng = random.Random(8)
    pools = [w for ws in SCRIPTS.values() for w in ws]
    out = list(HAND)
    for cat, words in SCRIPTS.items():
        out.append(" ".join(words))
        out.extend(words)
    out.extend(EMOJI)
    out.extend("x" + s + "y" for s in SPACES)
    out.extend(s + "end" for s in SPACES)
    out.extend("start" + s for s in SPACES)
    out.extend("n=" + n for n in NUMBERS)
    out.extend(NUMBERS)
    out.extend(CONTRACTIONS)
    out.extend("he said " + c + " twice" for c in CONTRACTIONS)
    out.extend("x" + p + "y " + p + " " + p + p for p in PUNCT)
    out.extend(SPECIAL)
    everything = pools + EMOJI + SPACES + NUMBERS + PUNCT + CONTRACTIONS + ENGLISH + SPECIAL
    # Random mixes: 1..12 fragments joined by nothing, a space, or a random separator.
    while len(out) < 640:
        n = rng.randint(1, 12)
        parts = []
        for _ in range(n):
            parts.append(rng.choice(everything))
            parts.append(rng.choice(["", " ", " ", "", rng.choice(SPACES), rng.choice(PUNCT)]))
        out.append("".join(parts))
    # Longer English prose and a long digit run.
    out.append(" ".join(rng.choice(ENGLISH) for _ in range(300)))
    out.append("".join(str(rng.randint(0, 9)) for _ in range(200)))
    out.append("a" * 500)
    out.append(" " * 100 + "x")
    seen, unique = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


if __name__ == "__main__":
    print(json.dumps(build(), ensure_ascii=False, indent=0))
