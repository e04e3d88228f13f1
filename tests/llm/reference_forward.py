#!/usr/bin/env python3
"""Independent float64 reference forward pass for Llama-family GGUF models.

Reads the model with the `gguf` package (GGUFReader + gguf.quants.dequantize,
the llama.cpp project's own Python reader), so nothing here shares code with
the C++ guest; the transformer is written from the published architecture:

  x = token_embd[ids]
  per layer: h = rmsnorm(x) * attn_norm
             q, k, v = h Wq^T (+bq), h Wk^T (+bk), h Wv^T (+bv)
             q, k = rope(q, pos), rope(k, pos)
             x += softmax(q k^T / sqrt(head_dim) + causal) v  Wo^T   (GQA: query
                  head h reads key/value head h // (n_head / n_head_kv))
             h = rmsnorm(x) * ffn_norm
             x += (silu(h Wgate^T) * (h Wup^T)) Wdown^T
  logits = (rmsnorm(x) * output_norm) W_out^T, W_out = output.weight or token_embd

RoPE: theta_i = pos * base^(-2i/n_rot) / freq_factor_i (freq_factor from
rope_freqs.weight, Llama 3 scaling, else 1). "llama" GGUFs store Q/K rows
permuted at conversion so the rotation pairs adjacent elements (x[2i], x[2i+1]);
"qwen2" rotates NEOX-style halves (x[i], x[i + n_rot/2]).

Usage:
  reference_forward.py --model F.gguf (--ids 1,2,3 [--ids 4,5 ...] | --tokens The,Ġcapital)
                       [--greedy N] [--all-logits] [--step-logits] [--top K]
                       [--out result.json] [--all-logits-bin FILE]

--all-logits-bin FILE: for every --ids sequence in turn (each run from an empty
cache, the model loaded once), the logits of all its positions as raw
little-endian float64, (positions, V) row-major, the sequences one after
another. A teacher-forced check feeds the prompt plus another implementation's
greedy tokens and compares every step's logits. The JSON describes the first
sequence only.

JSON written to --out (every float a float64 rounded to 9 significant digits):
  {
    "format": "samepage-reference-forward/1",
    "model": path, "architecture": "llama" | "qwen2",
    "n_vocab": V, "n_ctx": context_length,
    "prompt_ids": [P ints],
    "last_logits": [V floats],            logits at the prompt's last position
    "all_logits": [[V floats] x P],       only with --all-logits (row i: position i)
    "greedy": {                           only with --greedy N
      "ids": [N ints],                    greedily chosen continuation
      "top2_gap": [N floats],             at step s, top-1 minus top-2 logit of the
                                          logits that chose ids[s] (step 0: last_logits)
      "text": str,                        ids decoded through the byte-level vocabulary
      "step_logits": [[V floats] x N]     only with --step-logits: the logits of step s
    },
    "seconds": {"load": t, "prefill": t, "greedy": t}
  }
--emulate-cpu: everything stays float64 except two documented roundings of
samepage's CPU backend (and llama.cpp's): before a matmul with a Q8_0/Q4_0/Q4_1
weight the activations are quantized to 8 bits in blocks of 32, and K and V are
stored in an f16 cache. What is left between the guest and this mode is float32
arithmetic, so a kernel bug cannot hide inside the quantization error.

A greedy divergence from another implementation is meaningful only at steps
whose top2_gap exceeds the logit tolerance of the comparison.
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import gguf

FORMAT = "samepage-reference-forward/1"
SUPPORTED_ARCHS = ("llama", "qwen2")


def fail(message):
    print(f"reference_forward: {message}", file=sys.stderr)
    sys.exit(1)


def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            fail(f"missing metadata key {key}")
        return default
    return f.contents()


class Model:
    def __init__(self, path, emulate_cpu=False):
        self.emulate_cpu = emulate_cpu
        self.quantized = set()  # names of tensors stored as Q8_0 / Q4_0 / Q4_1
        r = gguf.GGUFReader(path)
        self.arch = field(r, "general.architecture")
        if self.arch not in SUPPORTED_ARCHS:
            fail(f"architecture {self.arch!r} is not one of {SUPPORTED_ARCHS}")
        a = self.arch
        self.n_layer = int(field(r, f"{a}.block_count"))
        self.n_embd = int(field(r, f"{a}.embedding_length"))
        self.n_head = int(field(r, f"{a}.attention.head_count"))
        self.n_head_kv = int(field(r, f"{a}.attention.head_count_kv", self.n_head))
        self.head_dim = self.n_embd // self.n_head
        self.n_rot = int(field(r, f"{a}.rope.dimension_count", self.head_dim))
        self.rope_base = float(field(r, f"{a}.rope.freq_base", 10000.0))
        self.eps = float(field(r, f"{a}.attention.layer_norm_rms_epsilon"))
        self.n_ctx = int(field(r, f"{a}.context_length"))
        self.vocab = list(field(r, "tokenizer.ggml.tokens"))
        self.w = {}
        quant_types = (gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0,
                       gguf.GGMLQuantizationType.Q4_1)
        for t in r.tensors:
            if t.tensor_type in quant_types:
                self.quantized.add(t.name)
            # dequantize gives (..., ne[0]); numpy shape is the GGUF dims reversed.
            x = gguf.quants.dequantize(t.data, t.tensor_type)
            shape = tuple(int(d) for d in reversed(t.shape.tolist()))
            self.w[t.name] = np.asarray(x, dtype=np.float64).reshape(shape)
        self.out_name = "output.weight" if "output.weight" in self.w else "token_embd.weight"
        self.out_w = self.w[self.out_name]  # (V, n_embd)
        self.n_vocab = self.out_w.shape[0]
        factors = self.w.get("rope_freqs.weight", np.ones(self.n_rot // 2))
        i = np.arange(self.n_rot // 2, dtype=np.float64)
        self.inv_freq = self.rope_base ** (-2.0 * i / self.n_rot) / factors  # (n_rot/2)

    def linear(self, x, name):
        """x W^T for the weight named name, (T, in) -> (T, out). With
        emulate_cpu, x is first rounded the way samepage's CPU matmul (like
        llama.cpp's) quantizes activations for quantized weights: blocks of
        32, scale d = amax/127 in float32, q = round-half-even(x/d) in int8."""
        if self.emulate_cpu and name in self.quantized:
            blocks = x.reshape(-1, 32).astype(np.float32)
            d = np.abs(blocks).max(axis=1, keepdims=True) / np.float32(127)
            inv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, np.float32(1)), np.float32(0))
            x = (np.round(blocks * inv).astype(np.float64) * d.astype(np.float64)).reshape(x.shape)
        return x @ (self.out_w if name == self.out_name else self.w[name]).T

    def kv_rounded(self, x):
        """With emulate_cpu, K and V as the f16 KV cache stores them."""
        return x.astype(np.float16).astype(np.float64) if self.emulate_cpu else x

    def rmsnorm(self, x, weight):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * weight

    def rope(self, x, positions):
        """x: (T, heads, head_dim); rotates the first n_rot dims of each head."""
        ang = positions[:, None].astype(np.float64) * self.inv_freq[None, :]  # (T, n_rot/2)
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        out = x.copy()
        if self.arch == "qwen2":
            half = self.n_rot // 2
            a, b = x[..., :half], x[..., half:self.n_rot]
            out[..., :half] = a * cos - b * sin
            out[..., half:self.n_rot] = a * sin + b * cos
        else:
            a, b = x[..., 0:self.n_rot:2], x[..., 1:self.n_rot:2]
            out[..., 0:self.n_rot:2] = a * cos - b * sin
            out[..., 1:self.n_rot:2] = a * sin + b * cos
        return out

    def forward(self, ids, cache, start):
        """Runs tokens ids at positions start.. with the per-layer K/V cache
        (a list of (k, v) arrays, each (positions, n_head_kv, head_dim));
        returns the logits of every new position, (T, V)."""
        T, hd = len(ids), self.head_dim
        positions = np.arange(start, start + T)
        x = self.w["token_embd.weight"][np.asarray(ids)]  # (T, n_embd)
        group = self.n_head // self.n_head_kv
        mask = np.where(positions[:, None] >= np.arange(start + T)[None, :], 0.0, -np.inf)  # (T, S)
        for l in range(self.n_layer):
            p = f"blk.{l}."
            h = self.rmsnorm(x, self.w[p + "attn_norm.weight"])
            q = self.linear(h, p + "attn_q.weight")
            k = self.linear(h, p + "attn_k.weight")
            v = self.linear(h, p + "attn_v.weight")
            if p + "attn_q.bias" in self.w:
                q = q + self.w[p + "attn_q.bias"]
                k = k + self.w[p + "attn_k.bias"]
                v = v + self.w[p + "attn_v.bias"]
            q = self.rope(q.reshape(T, self.n_head, hd), positions)
            k = self.kv_rounded(self.rope(k.reshape(T, self.n_head_kv, hd), positions))
            v = self.kv_rounded(v.reshape(T, self.n_head_kv, hd))
            if l < len(cache):
                k = np.concatenate([cache[l][0], k])
                v = np.concatenate([cache[l][1], v])
                cache[l] = (k, v)
            else:
                cache.append((k, v))
            kk = np.repeat(k, group, axis=1)  # (S, n_head, hd)
            vv = np.repeat(v, group, axis=1)
            scores = np.einsum("thd,shd->hts", q, kk) / math.sqrt(hd) + mask[None]
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            attn = np.einsum("hts,shd->thd", probs, vv).reshape(T, self.n_embd)
            x = x + self.linear(attn, p + "attn_output.weight")
            h = self.rmsnorm(x, self.w[p + "ffn_norm.weight"])
            gate = self.linear(h, p + "ffn_gate.weight")
            up = self.linear(h, p + "ffn_up.weight")
            x = x + self.linear(gate / (1.0 + np.exp(-gate)) * up, p + "ffn_down.weight")
        return self.linear(self.rmsnorm(x, self.w["output_norm.weight"]), self.out_name)

    def decode(self, ids):
        """Byte-level (GPT-2 alphabet) token texts back to a string."""
        printable = [b for b in range(256) if 0x21 <= b <= 0x7e or 0xa1 <= b <= 0xac or 0xae <= b <= 0xff]
        byte_of = {chr(b): b for b in printable}
        n = 0
        for b in range(256):
            if b not in printable:
                byte_of[chr(256 + n)] = b
                n += 1
        out = bytearray()
        for i in ids:
            for ch in self.vocab[i]:
                out.extend([byte_of[ch]] if ch in byte_of else ch.encode())
        return out.decode("utf-8", errors="replace")


def top2_gap(logits):
    a, b = np.partition(logits, -2)[-2:]
    return float(abs(b - a))


def rounded(values):
    return [float(f"{v:.9g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def parse_prompt(args, model, text=None):
    if text is not None or args.ids:
        text = args.ids[0] if text is None else text
        try:
            ids = [int(s) for s in text.split(",") if s != ""]
        except ValueError:
            fail(f"--ids must be comma-separated integers, got {text!r}")
    else:
        index = {t: i for i, t in enumerate(model.vocab)}
        missing = [t for t in args.tokens.split(",") if t not in index]
        if missing:
            fail(f"tokens not in the vocabulary: {missing}")
        ids = [index[t] for t in args.tokens.split(",")]
    if not ids or any(i < 0 or i >= model.n_vocab for i in ids):
        fail(f"prompt ids must be non-empty and within [0, {model.n_vocab})")
    if len(ids) + args.greedy > model.n_ctx:
        fail(f"prompt + greedy tokens exceed the context of {model.n_ctx}")
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--ids", action="append", help="comma-separated token ids (repeatable)")
    src.add_argument("--tokens", help="comma-separated token texts, looked up in the vocabulary")
    ap.add_argument("--greedy", type=int, default=0, help="greedy tokens to generate")
    ap.add_argument("--all-logits", action="store_true", help="logits of every prompt position")
    ap.add_argument("--step-logits", action="store_true", help="logits of every greedy step")
    ap.add_argument("--top", type=int, default=0, help="print the top K tokens and the greedy text")
    ap.add_argument("--out", help="JSON result file")
    ap.add_argument("--all-logits-bin", help="float64 logits of every position of every --ids sequence")
    ap.add_argument("--emulate-cpu", action="store_true",
                    help="round as samepage's CPU backend does (8-bit activations for quantized weights, f16 K/V)")
    args = ap.parse_args()
    if args.greedy < 0:
        fail("--greedy must be >= 0")
    if args.ids and len(args.ids) > 1 and not args.all_logits_bin:
        fail("several --ids sequences need --all-logits-bin")

    t0 = time.perf_counter()
    model = Model(args.model, emulate_cpu=args.emulate_cpu)
    ids = parse_prompt(args, model)
    t1 = time.perf_counter()
    cache = []
    prompt_logits = model.forward(ids, cache, 0)  # (P, V)
    t2 = time.perf_counter()
    logits = prompt_logits[-1]
    greedy, gaps, steps = [], [], []
    for _ in range(args.greedy):
        next_id = int(np.argmax(logits))
        greedy.append(next_id)
        gaps.append(top2_gap(logits))
        if args.step_logits:
            steps.append(rounded(logits))
        if len(greedy) < args.greedy:
            logits = model.forward([next_id], cache, len(ids) + len(greedy) - 1)[-1]
    t3 = time.perf_counter()

    last = prompt_logits[-1]
    if not np.all(np.isfinite(prompt_logits)):
        fail("non-finite logits")
    if args.all_logits_bin:
        with open(args.all_logits_bin, "wb") as f:
            f.write(np.ascontiguousarray(prompt_logits, dtype="<f8").tobytes())
            for text in args.ids[1:] if args.ids else []:
                more = model.forward(parse_prompt(args, model, text), [], 0)
                if not np.all(np.isfinite(more)):
                    fail("non-finite logits")
                f.write(np.ascontiguousarray(more, dtype="<f8").tobytes())
    t4 = time.perf_counter()
    result = {
        "format": FORMAT, "model": args.model, "architecture": model.arch,
        "n_vocab": model.n_vocab, "n_ctx": model.n_ctx, "prompt_ids": ids,
        "last_logits": rounded(last),
    }
    if args.all_logits:
        result["all_logits"] = [rounded(row) for row in prompt_logits]
    if args.greedy:
        result["greedy"] = {"ids": greedy, "top2_gap": [float(f"{g:.9g}") for g in gaps],
                            "text": model.decode(greedy)}
        if args.step_logits:
            result["greedy"]["step_logits"] = steps
    result["seconds"] = {"load": t1 - t0, "prefill": t2 - t1, "greedy": t3 - t2, "all_logits_bin": t4 - t3}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f)
    if args.top:
        order = np.argsort(-last)[:args.top]
        print(f"prompt {ids!r} -> {model.decode(ids)!r}")
        for i in order:
            print(f"  {int(i):7d} {last[i]:12.6f} {model.vocab[i]!r}")
        if args.greedy:
            print(f"greedy: {model.decode(greedy)!r}  min top2 gap {min(gaps):.4g}")
        print(f"seconds: load {t1 - t0:.2f} prefill {t2 - t1:.2f} greedy {t3 - t2:.2f}")


if __name__ == "__main__":
    main()
