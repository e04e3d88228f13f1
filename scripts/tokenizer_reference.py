#!/usr/bin/env python3
"""Reference token ids for the tokenizer test, from Hugging Face `tokenizers`:
a BPE model built from a GGUF's tokenizer.ggml.tokens/merges (read with the
`gguf` package) and the pre-tokenizer of the family, configured as in the
family's tokenizer.json. Independent of our C++ code.

    python tokenizer_reference.py MODEL.gguf CORPUS.json PRE > OUT.tsv
PRE: smollm | gpt2 | llama-bpe | qwen2 (the pre-tokenizer to configure; the
vocabulary and merges always come from MODEL.gguf). One line per corpus
string: hex of its UTF-8, a tab, ids with special tokens parsed, a tab, ids
with special tokens left as text (space-separated).
"""
import json
import sys

from gguf import GGUFReader
from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers

LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def strings(reader, key):
    f = reader.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def ints(reader, key):
    f = reader.fields[key]
    return [int(f.parts[i][0]) for i in f.data]


def build(model_path, pre):
    reader = GGUFReader(model_path)
    tokens = strings(reader, "tokenizer.ggml.tokens")
    types = ints(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ")) for m in strings(reader, "tokenizer.ggml.merges")]
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    byte_level = lambda use_regex: pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=use_regex)
    if pre == "smollm":
        model = models.BPE(vocab, merges)
        pt = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level(True)])
    elif pre == "gpt2":
        model = models.BPE(vocab, merges)
        pt = byte_level(True)
    elif pre in ("llama-bpe", "qwen2"):
        model = models.BPE(vocab, merges, ignore_merges=(pre == "llama-bpe"))
        regex = LLAMA3 if pre == "llama-bpe" else QWEN2
        pt = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(regex), behavior="isolated"), byte_level(False)])
    else:
        raise SystemExit(f"unknown pre-tokenizer {pre}")
    tok = Tokenizer(model)
    tok.pre_tokenizer = pt
    # Control tokens (type 3) are special: parsed only when asked; user-defined (4) always.
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty == 3])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t, ty in zip(tokens, types) if ty == 4])
    return tok


def main():
    model_path, corpus_path, pre = sys.argv[1:4]
    tok = build(model_path, pre)
    corpus = json.load(open(corpus_path, encoding="utf-8"))
    out = sys.stdout
    for text in corpus:
        tok.encode_special_tokens = False
        special = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = True
        plain = tok.encode(text, add_special_tokens=False).ids
        out.write(text.encode("utf-8").hex() + "\t" + " ".join(map(str, special)) + "\t" +
                  " ".join(map(str, plain)) + "\n")


if __name__ == "__main__":
    main()
