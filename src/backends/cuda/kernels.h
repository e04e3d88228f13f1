// The CUDA backend's kernels, one op family per .cu file, as host launchers
// that enqueue on a stream (LaunchStream: with or without PDL, launch.h;
// the tensor-core prefill attention still takes a plain stream). Pointers are device-addressable (HBM or
// registered guest memory); shapes were validated by the host API. Layouts
// and semantics are the CPU backend's (backends/cpu/*.h), the reference.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "backends/cuda/launch.h"
#include "samepage/dtype.h"
#include "samepage/status.h"

namespace samepage::cuda {

// quantize_x.cu: x rounded to 8-bit blocks as the CPU does before a product
// with quant weights: qs (n) int8, d (n/32) scales.
struct QuantizedX {
  int8_t* qs = nullptr;
  float* d = nullptr;
};
Status launch_quantize_x(const LaunchStream& s, const float* x, int64_t n, QuantizedX out);

// matmul_gemv.cu: y (m, n) = x (m, k) · W (n, k)ᵀ for m <= kGemvMaxRows:
// weights read once for all m rows, by the kernel gemv_plan.h picks. Float weights
// take x as it is (16-byte aligned: the backend stages it otherwise); quant
// weights take xq (x quantized, 8-bit dot products as the CPU's), or x
// itself where gemv_quantizes_x says so. w_const: W is a const tensor
// resident in HBM, written by no kernel, so with PDL the kernel starts
// reading it before the previous kernel has finished.
inline constexpr int64_t kGemvMaxRows = 8;
Status launch_gemv(const LaunchStream& s, DType w_dtype, const void* w, bool w_const, const float* x,
                   const QuantizedX& xq, float* y, int64_t m, int64_t n, int64_t k);
// Whether launch_gemv rounds x to 8-bit blocks itself for these arguments
// (quant weights, the staged kernel, small x): then xq may be empty and the
// caller skips launch_quantize_x.
bool gemv_quantizes_x(DType w_dtype, int64_t m, int64_t n, int64_t k, const void* w, const float* x);
// The same two with variant (an index into kGemvVariants, gemv_plan.h)
// instead of the default: for bench/cuda_gemv_bench.
Status launch_gemv_variant(const LaunchStream& s, int variant, DType w_dtype, const void* w, bool w_const,
                           const float* x, const QuantizedX& xq, float* y, int64_t m, int64_t n, int64_t k);
bool gemv_quantizes_x_variant(int variant, DType w_dtype, int64_t m, int64_t n, int64_t k, const void* w,
                              const float* x);
// For m > kGemvMaxRows: cuBLAS (cublas_gemm.h).

// rmsnorm.cu: y = x / rms(x row) * w, rows of n. w_const: w is written by
// no kernel (launch_gemv's w_const): read before the previous kernel ends.
void launch_rmsnorm(const LaunchStream& s, const float* x, const float* w, bool w_const, float* y, int64_t n_rows,
                    int64_t n, float eps);

// rope.cu: x, y (n_tokens, n_heads, head_dim), token t at position pos0 + t;
// mode 0 pairs (2i, 2i+1), mode 1 pairs (i, i + head_dim/2). y may be x.
// factors (head_dim/2 f32, or null) divide each pair's frequency (rope_ext).
// Positions (here and in attention, set_rows): pos0_at, when not null, is a
// device int32 the kernel reads pos0 from instead (a replay parameter in the
// sequence's parameter buffer, so a captured graph serves every position).
void launch_rope(const LaunchStream& s, const float* x, float* y, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                 int64_t pos0, const int32_t* pos0_at, float freq_base, float freq_scale, int32_t mode,
                 const float* factors);

// attention.cu: causal GQA of q (T, H, D) f32 over k, v (C, KVH, D) of kv_dtype.
struct AttentionArgs {
  const float* q;
  const void* k;
  const void* v;
  float* out;
  DType kv_dtype;
  int64_t n_q_tokens, n_heads, n_kv_heads, head_dim, n_ctx, pos0;
  const int32_t* pos0_at = nullptr;  // see launch_rope
  QuantizedX rounded{};  // qs not null (head_dim a multiple of 32): out rounded there too, as quantize_x would
  int split = 0;  // decode kernel: blocks an item takes, 1 to 8 (0: the kernel's choice; a bench's knob)
};
Status launch_attention(const LaunchStream& s, const AttentionArgs& a);
// attention_prefill.cu: the same for many query tokens on tensor cores, when
// attention_prefill_fits (f16/bf16 caches, head_dim 64 or 128, 16-byte
// aligned caches, at least kAttentionPrefillMinTokens tokens); launch_attention
// picks it by itself.
inline constexpr int64_t kAttentionPrefillMinTokens = 16;
bool attention_prefill_fits(const AttentionArgs& a);
Status launch_attention_prefill(cudaStream_t s, const AttentionArgs& a);

// elementwise.cu
void launch_silu_mul(const LaunchStream& s, const float* a, const float* b, float* y, int64_t n);
// b has n elements, or is one row (b_n elements) added to every row of a.
void launch_add(const LaunchStream& s, const float* a, const float* b, float* y, int64_t n, int64_t b_n);
void launch_scale(const LaunchStream& s, const float* x, float f, float* y, int64_t n);

// embedding.cu: y (n_tokens, dim) = rows of table (n_vocab, dim). A token
// outside [0, n_vocab) is reported in report[0..2] = {1, token, index} (the
// first one seen: the one whose atomic on claim found 0) and its row left
// unwritten. claim: device int32; report: mapped host memory, read by the
// host after the stream's synchronisation with no copy.
struct EmbeddingError {
  int32_t* claim = nullptr;
  int32_t* report = nullptr;
};
void launch_embedding(const LaunchStream& s, DType table_dtype, const void* table, int64_t n_vocab, int64_t dim,
                      const int32_t* tokens, int64_t n_tokens, float* y, EmbeddingError error);

// softmax.cu: row softmax (NaN rows give NaN) and argmax (first maximum,
// NaN skipped, an all-NaN row gives 0), as the CPU's.
void launch_softmax(const LaunchStream& s, const float* x, float* y, int64_t n_rows, int64_t n);
// state: zeroed device memory of the backend's (one op at a time on its
// stream), which lets one long row be searched by many blocks; or null.
struct ArgmaxState {
  unsigned long long key;
  unsigned int blocks_done;
};
void launch_argmax(const LaunchStream& s, const float* x, int32_t* out, int64_t n_rows, int64_t n, ArgmaxState* state);

// convert.cu: dst = convert(src), n elements; same dtype is a byte copy,
// f32/f16/bf16 convert into each other (what the host API lets copy ask).
Status launch_convert(const LaunchStream& s, DType src_dtype, const void* src, DType dst_dtype, void* dst, int64_t n);
// dst = src rows [row0, +n_rows) converted, row0 read from row0_at (device) when set.
Status launch_get_rows_at(const LaunchStream& s, DType src_dtype, const void* src, DType dst_dtype, void* dst,
                          int64_t row_elements, int64_t n_rows, int64_t row0, const int32_t* row0_at);
// set_rows: dst rows [row0, row0 + n_rows) (row_elements each, dst_dtype
// f32/f16/bf16) = src (n_rows, row_elements) f32/f16/bf16, converted (the same
// dtype: bytes); row0 from row0_at when not null (see launch_rope), so a
// replayed graph needs no host-side offset.
Status launch_set_rows(const LaunchStream& s, DType src_dtype, const void* src, DType dst_dtype, void* dst,
                       int64_t row_elements, int64_t n_rows, int64_t row0, const int32_t* row0_at);

}  // namespace samepage::cuda
