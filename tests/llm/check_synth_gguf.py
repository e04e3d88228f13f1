#!/usr/bin/env python3
"""Checks synthetic GGUF files (tools/synth_model) with independent readers.

  check_synth_gguf.py --reference tiny-f32.gguf OTHER.gguf...

Every file must load in the `gguf` package. Each OTHER file (same shape and
seed, another dtype) must dequantize, through gguf.quants.dequantize, to the
reference's F32 values within the bound of its encoding, block by block: a
wrong block layout (scale position, nibble order, offset sign) breaks the
bound. As a control, Q4 blocks read with their nibbles swapped must break it.
The vocabulary must build a working Hugging Face `tokenizers` BPE whose
merges are concatenations of earlier tokens, and round-trip text.
Exit status 0 when all holds; otherwise each failure is printed.
"""
import argparse
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)


def load(path):
    r = gguf.GGUFReader(path)
    tensors = {t.name: t for t in r.tensors}
    return r, tensors


def dequant(t):
    return np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float64).reshape(-1)


def bound(ref, qtype):
    """Largest error each element may have after encoding ref as qtype."""
    a = np.abs(ref)
    if qtype == Q.F32:
        return np.zeros_like(ref)
    if qtype == Q.F16:
        return a * 2.0 ** -11 + 2.0 ** -24
    if qtype == Q.BF16:
        return a * 2.0 ** -8
    blocks = ref.reshape(-1, 32)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    if qtype == Q.Q8_0:  # rounding to d/2, d = amax/127 (f16)
        tol = 0.5 * amax / 127 * (1 + 2.0 ** -9)
    elif qtype == Q.Q4_0:  # the extreme maps to -8d exactly; the other side may clamp at 7d
        tol = amax / 8 * (1 + 2.0 ** -9)
    elif qtype == Q.Q4_1:  # d = (max - min)/15, m = min, both f16
        lo, hi = blocks.min(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)
        d = (hi - lo) / 15
        tol = 0.5 * d * (1 + 2.0 ** -9) + np.abs(lo) * 2.0 ** -10 + 15 * d * 2.0 ** -10
    else:
        raise ValueError(f"unexpected type {qtype}")
    return np.broadcast_to(tol + 1e-7, blocks.shape).reshape(-1)


def swapped_nibbles(t):
    """Dequantize Q4 blocks with the two nibbles of each byte exchanged."""
    block_bytes = 18 if t.tensor_type == Q.Q4_0 else 20
    raw = np.array(t.data, dtype=np.uint8).reshape(-1, block_bytes).copy()
    qs = raw[:, block_bytes - 16:]
    raw[:, block_bytes - 16:] = (qs >> 4) | ((qs & 0x0F) << 4)
    return np.asarray(gguf.quants.dequantize(raw, t.tensor_type), dtype=np.float64).reshape(-1)


def check_against_reference(path, ref_tensors):
    _, tensors = load(path)
    check(sorted(tensors) == sorted(ref_tensors), f"{path}: tensor names differ from the reference")
    for name, t in tensors.items():
        ref_t = ref_tensors.get(name)
        if ref_t is None:
            continue
        check(list(t.shape) == list(ref_t.shape), f"{path}:{name}: shape {list(t.shape)} != {list(ref_t.shape)}")
        ref, got = dequant(ref_t), dequant(t)
        if ref.shape != got.shape:
            check(False, f"{path}:{name}: {got.size} values, reference {ref.size}")
            continue
        tol = bound(ref, t.tensor_type)
        err = np.abs(got - ref)
        worst = int(np.argmax(err - tol))
        check(np.all(err <= tol), f"{path}:{name} ({t.tensor_type.name}): element {worst} off by "
              f"{err[worst]:.3g} > {tol[worst]:.3g}")
        check(np.any(ref != 0), f"{path}:{name}: all zeros")
        if t.tensor_type in (Q.Q4_0, Q.Q4_1):
            check(np.any(np.abs(swapped_nibbles(t) - ref) > tol),
                  f"{path}:{name}: swapped nibbles still within the bound (the check is blind)")


def check_vocab(path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    r, _ = load(path)
    tokens = list(r.fields["tokenizer.ggml.tokens"].contents())
    types = list(r.fields["tokenizer.ggml.token_type"].contents())
    merges = list(r.fields["tokenizer.ggml.merges"].contents())
    arch = r.fields["general.architecture"].contents()
    check(len(tokens) == r.fields[f"{arch}.vocab_size"].contents(), f"{path}: vocab_size != token count")
    check(len(types) == len(tokens), f"{path}: token_type count != token count")
    check(r.fields["tokenizer.ggml.model"].contents() == "gpt2", f"{path}: tokenizer model is not gpt2")
    check(r.fields["tokenizer.ggml.pre"].contents() == "smollm", f"{path}: pre-tokenizer is not smollm")
    check(tokens[:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] and types[:3] == [3, 3, 3],
          f"{path}: control tokens 0..2")
    index = {t: i for i, t in enumerate(tokens)}
    check(len(index) == len(tokens), f"{path}: duplicate tokens")
    for rank, m in enumerate(merges):
        left, right = m.split(" ")
        merged = index.get(left + right, -1)
        check(merged > max(index.get(left, 1 << 40), index.get(right, 1 << 40)),
              f"{path}: merge {rank} {m!r} is not two earlier tokens")
    bpe = models.BPE(vocab=index, merges=[tuple(m.split(" ")) for m in merges])
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    text = "Hello world, the quick brown fox é 日本 🙂\n\n  code() 123"
    ids = tok.encode(text).ids
    check(tok.decode(ids) == text, f"{path}: tokenizers round trip failed: {tok.decode(ids)!r}")
    check(any(i >= 259 for i in tok.encode("the quick brown fox jumps over the lazy dog " * 4).ids),
          f"{path}: no merge applies to English text")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True, help="the F32 file")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    _, ref_tensors = load(args.reference)
    check_vocab(args.reference)
    for path in args.files:
        check_against_reference(path, ref_tensors)
    for f in failures[:50]:
        print("FAIL", f)
    print(f"check_synth_gguf: {len(args.files) + 1} files, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
