// AVX2 + FMA + F16C kernels (Haswell, Zen 1 and later).
//
// Every function carries the target attribute instead of the file being built
// with -mavx2: the library must still load on CPUs without AVX2, and inline
// functions from std headers must not be emitted with AVX2 instructions.
// Quantized dots use the ggml idea: _mm256_maddubs_epi16 multiplies unsigned
// by signed bytes, so q8_0 moves the weight's sign onto x (|w| · sign(x, w))
// and q4 nibbles (0..15) are already unsigned.
#if defined(__x86_64__)

#include <immintrin.h>

#include "backends/cpu/kernels.h"

#define SP_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace samepage::cpu {

namespace {

SP_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

SP_AVX2 inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

SP_AVX2 inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

SP_AVX2 inline __m256 load_bf16x8(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

SP_AVX2 inline float f16_scalar(uint16_t h) { return _cvtsh_ss(h); }

SP_AVX2 inline __m256 load_f32x8(const float* p) { return _mm256_loadu_ps(p); }
SP_AVX2 inline float f32_scalar(float v) { return v; }
SP_AVX2 inline float bf16_scalar(uint16_t h) { return bf16_to_f32(h); }

// One kernel for every float weight type; only the widening load differs.
// Four accumulators of 8 lanes hide the 4-cycle FMA latency.
template <typename T, __m256 (*Load8)(const T*), float (*Scalar)(T)>
SP_AVX2 float dot_float(const void* w_row, const XRow& x, int64_t k) {
  const T* w = static_cast<const T*>(w_row);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
    acc0 = _mm256_fmadd_ps(Load8(w + i), _mm256_loadu_ps(x.f32 + i), acc0);
    acc1 = _mm256_fmadd_ps(Load8(w + i + 8), _mm256_loadu_ps(x.f32 + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(Load8(w + i + 16), _mm256_loadu_ps(x.f32 + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(Load8(w + i + 24), _mm256_loadu_ps(x.f32 + i + 24), acc3);
  }
  for (; i + 8 <= k; i += 8) acc0 = _mm256_fmadd_ps(Load8(w + i), _mm256_loadu_ps(x.f32 + i), acc0);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < k; ++i) sum += Scalar(w[i]) * x.f32[i];
  return sum;
}

constexpr DotFn dot_f32 = dot_float<float, load_f32x8, f32_scalar>;
constexpr DotFn dot_f16 = dot_float<uint16_t, load_f16x8, f16_scalar>;
constexpr DotFn dot_bf16 = dot_float<uint16_t, load_bf16x8, bf16_scalar>;

// 32 signed weight bytes · 32 signed x bytes → 8 int32 partial sums.
SP_AVX2 inline __m256i dot_i8x32(__m256i w, __m256i xq) {
  const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xq, w));
  return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

// 16 bytes of nibbles (ggml order: low nibbles are elements 0..15) → 32 bytes
// 0..15: broadcast to both halves, shift the upper half by 4 (a 64-bit shift
// also pulls in the next byte's low nibble; the mask drops it).
SP_AVX2 inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m256i z = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi64(z, _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(0x0f));
}

// Unsigned nibbles · signed x bytes → 8 int32 partial sums (max 15·127·2 per
// int16 step, far from saturation).
SP_AVX2 inline __m256i dot_u4x32(const uint8_t* qs, const int8_t* xq) {
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
  return _mm256_madd_epi16(_mm256_maddubs_epi16(unpack_nibbles(qs), x), _mm256_set1_epi16(1));
}

SP_AVX2 inline float hsum128(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The f16 fields at `offset` bytes into four consecutive blocks, as 4 floats:
// one conversion for four blocks instead of four scalar ones.
template <typename Block>
SP_AVX2 inline __m128 load_f16_field4(const Block* blocks, size_t offset) {
  const auto field = [&](int i) {
    uint16_t h;
    __builtin_memcpy(&h, reinterpret_cast<const uint8_t*>(blocks + i) + offset, 2);
    return int(h);
  };
  __m128i h = _mm_cvtsi32_si128(field(0));
  h = _mm_insert_epi16(h, field(1), 1);
  h = _mm_insert_epi16(h, field(2), 2);
  h = _mm_insert_epi16(h, field(3), 3);
  return _mm_cvtph_ps(h);
}

// Lane i of s4 broadcast to 8 lanes.
SP_AVX2 inline __m256 lane(__m256 s44, int i) { return _mm256_permutevar8x32_ps(s44, _mm256_set1_epi32(i)); }

SP_AVX2 float dot_q8_0(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const BlockQ8_0*>(w_row);
  const int64_t n_blocks = k / kQuantBlock;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
  int64_t b = 0;
  for (; b + 4 <= n_blocks; b += 4) {
    const __m128 s4 = _mm_mul_ps(load_f16_field4(blocks + b, 0), _mm_loadu_ps(x.d + b));
    const __m256 s44 = _mm256_set_m128(s4, s4);
    __m256i p[4];
    for (int i = 0; i < 4; ++i) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[b + i].qs));
      p[i] = dot_i8x32(w, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + (b + i) * kQuantBlock)));
    }
    acc0 = _mm256_fmadd_ps(lane(s44, 0), _mm256_cvtepi32_ps(p[0]), acc0);
    acc1 = _mm256_fmadd_ps(lane(s44, 1), _mm256_cvtepi32_ps(p[1]), acc1);
    acc0 = _mm256_fmadd_ps(lane(s44, 2), _mm256_cvtepi32_ps(p[2]), acc0);
    acc1 = _mm256_fmadd_ps(lane(s44, 3), _mm256_cvtepi32_ps(p[3]), acc1);
  }
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; b < n_blocks; ++b) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[b].qs));
    const __m256i p = dot_i8x32(w, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + b * kQuantBlock)));
    sum += float(hsum_i32(p)) * (f16_scalar(blocks[b].d) * x.d[b]);
  }
  return sum;
}

// Shared by q4_0 (value (n - 8)·d) and q4_1 (value n·d + m):
//   sum_i w_i q_i dx = d dx sum n q  -  8 d dx sum q   (q4_0)
//                                    +  m dx sum q     (q4_1)
// The first term is the integer dot; the second uses the per-block sum of
// x quants, four blocks per vector op.
template <typename Block, bool kHasMin>
SP_AVX2 float dot_q4(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const Block*>(w_row);
  const int64_t n_blocks = k / kQuantBlock;
  constexpr size_t kMinOffset = 2;  // BlockQ4_1::m
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
  __m128 acc_sum = _mm_setzero_ps();  // sum over blocks of (d or m)·dx·sum q
  int64_t b = 0;
  for (; b + 4 <= n_blocks; b += 4) {
    const __m128 dx = _mm_loadu_ps(x.d + b);
    const __m128 s4 = _mm_mul_ps(load_f16_field4(blocks + b, 0), dx);
    const __m256 s44 = _mm256_set_m128(s4, s4);
    __m256i p[4];
    for (int i = 0; i < 4; ++i) p[i] = dot_u4x32(blocks[b + i].qs, x.qs + (b + i) * kQuantBlock);
    acc0 = _mm256_fmadd_ps(lane(s44, 0), _mm256_cvtepi32_ps(p[0]), acc0);
    acc1 = _mm256_fmadd_ps(lane(s44, 1), _mm256_cvtepi32_ps(p[1]), acc1);
    acc0 = _mm256_fmadd_ps(lane(s44, 2), _mm256_cvtepi32_ps(p[2]), acc0);
    acc1 = _mm256_fmadd_ps(lane(s44, 3), _mm256_cvtepi32_ps(p[3]), acc1);
    const __m128 xsum = _mm_cvtepi32_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.sum + b)));
    if constexpr (kHasMin) {
      acc_sum = _mm_fmadd_ps(_mm_mul_ps(load_f16_field4(blocks + b, kMinOffset), dx), xsum, acc_sum);
    } else {
      acc_sum = _mm_fmadd_ps(s4, xsum, acc_sum);
    }
  }
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  float sum_term = hsum128(acc_sum);
  for (; b < n_blocks; ++b) {
    const float dw = f16_scalar(blocks[b].d);
    sum += float(hsum_i32(dot_u4x32(blocks[b].qs, x.qs + b * kQuantBlock))) * (dw * x.d[b]);
    if constexpr (kHasMin) {
      sum_term += f16_scalar(blocks[b].m) * x.d[b] * float(x.sum[b]);
    } else {
      sum_term += dw * x.d[b] * float(x.sum[b]);
    }
  }
  return kHasMin ? sum + sum_term : sum - 8.0f * sum_term;
}

SP_AVX2 void quantize_x(const float* x, int8_t* qs, float* d, int32_t* sum, int64_t n_blocks) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n_blocks; ++b, x += kQuantBlock, qs += kQuantBlock) {
    __m256 v[4];
    for (int j = 0; j < 4; ++j) v[j] = _mm256_loadu_ps(x + 8 * j);
    __m256 amax = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign_mask, v[0]), _mm256_andnot_ps(sign_mask, v[1])),
                                _mm256_max_ps(_mm256_andnot_ps(sign_mask, v[2]), _mm256_andnot_ps(sign_mask, v[3])));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    d[b] = _mm_cvtss_f32(m) / 127.0f;
    const __m256 id = _mm256_set1_ps(d[b] != 0.0f ? 1.0f / d[b] : 0.0f);
    // cvtps rounds to nearest even (the default MXCSR mode), like the scalar path.
    __m256i q[4];
    for (int j = 0; j < 4; ++j) q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], id));
    sum[b] = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    // The packs interleave 128-bit lanes; the final permute restores element order.
    const __m256i q16a = _mm256_packs_epi32(q[0], q[1]);
    const __m256i q16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i q8 = _mm256_packs_epi16(q16a, q16b);
    const __m256i ordered = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), ordered);
  }
}

SP_AVX2 void axpy_f32(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

SP_AVX2 void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16x8(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * f16_scalar(x[i]);
}

SP_AVX2 void axpy_bf16(float a, const uint16_t* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_bf16x8(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * bf16_to_f32(x[i]);
}

// Attention rows (see kernels.h). The per-row work is a head_dim-long dot or
// fma, so the row loop lives here: no call per row, and sum_rows keeps its
// accumulators in registers across all rows. Vector path for d % 8 == 0
// (head dims are 64 or 128); other d take the per-row fallback.
SP_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
SP_AVX2 inline __m256 load8(const uint16_t* p, bool bf16) { return bf16 ? load_bf16x8(p) : load_f16x8(p); }

template <typename T, bool kBf16>
SP_AVX2 inline __m256 load_row8(const T* p) {
  if constexpr (sizeof(T) == 4) {
    return load8(p);
  } else {
    return load8(p, kBf16);
  }
}

template <typename T, bool kBf16, DotFn kDot>
SP_AVX2 void dot_rows(const void* rows, size_t stride_bytes, int64_t n_rows, const float* x, int64_t d, float* out) {
  if (d % 8 != 0) return dot_rows_by_row<kDot>(rows, stride_bytes, n_rows, x, d, out);
  for (int64_t r = 0; r < n_rows; ++r) {
    const T* row = reinterpret_cast<const T*>(static_cast<const uint8_t*>(rows) + size_t(r) * stride_bytes);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    int64_t i = 0;
    for (; i + 16 <= d; i += 16) {
      acc0 = _mm256_fmadd_ps(load_row8<T, kBf16>(row + i), _mm256_loadu_ps(x + i), acc0);
      acc1 = _mm256_fmadd_ps(load_row8<T, kBf16>(row + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
    }
    if (i < d) acc0 = _mm256_fmadd_ps(load_row8<T, kBf16>(row + i), _mm256_loadu_ps(x + i), acc0);
    out[r] = hsum(_mm256_add_ps(acc0, acc1));
  }
}

template <typename T, bool kBf16, void (*kAxpy)(float, const T*, float*, int64_t)>
SP_AVX2 void sum_rows(const void* rows, size_t stride_bytes, int64_t n_rows, const float* weights, int64_t d,
                      float* out) {
  if (d % 8 != 0) return sum_rows_by_row<T, kAxpy>(rows, stride_bytes, n_rows, weights, d, out);
  const auto row_at = [&](int64_t r) {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(rows) + size_t(r) * stride_bytes);
  };
  int64_t c = 0;
  for (; c + 32 <= d; c += 32) {  // 4 accumulators = 32 columns per pass over the rows
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t r = 0; r < n_rows; ++r) {
      const T* row = row_at(r) + c;
      const __m256 w = _mm256_set1_ps(weights[r]);
      acc0 = _mm256_fmadd_ps(w, load_row8<T, kBf16>(row), acc0);
      acc1 = _mm256_fmadd_ps(w, load_row8<T, kBf16>(row + 8), acc1);
      acc2 = _mm256_fmadd_ps(w, load_row8<T, kBf16>(row + 16), acc2);
      acc3 = _mm256_fmadd_ps(w, load_row8<T, kBf16>(row + 24), acc3);
    }
    _mm256_storeu_ps(out + c, acc0);
    _mm256_storeu_ps(out + c + 8, acc1);
    _mm256_storeu_ps(out + c + 16, acc2);
    _mm256_storeu_ps(out + c + 24, acc3);
  }
  for (; c < d; c += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t r = 0; r < n_rows; ++r) acc = _mm256_fmadd_ps(_mm256_set1_ps(weights[r]), load_row8<T, kBf16>(row_at(r) + c), acc);
    _mm256_storeu_ps(out + c, acc);
  }
}

// exp(x) for x <= 0 (softmax inputs after subtracting the max): x = n·ln2 + r
// with |r| <= ln2/2, e^r by the Cephes degree-6 polynomial, 2^n through the
// exponent bits. About 2 ulp; inputs below -87.3 flush to 0 like underflow.
SP_AVX2 inline __m256 exp_nonpositive(__m256 x) {
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);  // this operand order keeps a NaN x
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // ln2 in two parts so n·ln2_hi is exact.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(scale)));
}

SP_AVX2 float exp_sum(const float* x, float* y, float max, int64_t n) {
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(y + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum(acc);
  if (i < n) {
    // Tail through the same polynomial so every element sees one exp.
    float in[8], out[8];
    const int64_t n_tail = n - i;
    for (int j = 0; j < 8; ++j) in[j] = j < n_tail ? x[i + j] - max : -100.0f;
    _mm256_storeu_ps(out, exp_nonpositive(_mm256_loadu_ps(in)));
    for (int64_t j = 0; j < n_tail; ++j) {
      y[i + j] = out[j];
      sum += out[j];
    }
  }
  return sum;
}

}  // namespace

const CpuKernels& kernels_avx2() {
  static constexpr CpuKernels kTable = {
      .dot = {dot_f32, dot_f16, dot_bf16, dot_q8_0, dot_q4<BlockQ4_0, false>, dot_q4<BlockQ4_1, true>, nullptr},
      .quantize_x = quantize_x,
      .dot_rows = {dot_rows<float, false, dot_f32>, dot_rows<uint16_t, false, dot_f16>,
                   dot_rows<uint16_t, true, dot_bf16>},
      .sum_rows = {sum_rows<float, false, axpy_f32>, sum_rows<uint16_t, false, axpy_f16>,
                   sum_rows<uint16_t, true, axpy_bf16>},
      .exp_sum = exp_sum,
  };
  return kTable;
}

}  // namespace samepage::cpu

#endif  // __x86_64__
