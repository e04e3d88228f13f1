// AVX-512 (F/BW/VL/VNNI) kernels: Ice Lake / Sapphire Rapids, Zen 4 and later.
//
// Float dots use 16-lane FMAs with masked tails (no scalar remainder loop).
// Quantized dots handle two 32-element blocks per 512-bit register and use
// VNNI's vpdpbusd (unsigned bytes · signed bytes, summed into int32), which
// replaces AVX2's maddubs + madd pair. Same target-attribute rule as the AVX2
// file: nothing here may be inlined into code that runs on other CPUs.
#if defined(__x86_64__)

#include <immintrin.h>

#include "backends/cpu/kernels.h"

// GCC 12 reports the deliberately undefined upper halves inside its own
// cast/insert intrinsics (_mm512_undefined_*) as uninitialized: a false alarm.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define SP_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace samepage::cpu {

namespace {

SP_AVX512 inline __mmask16 tail_mask(int64_t n) { return __mmask16((1u << n) - 1u); }

SP_AVX512 inline __m512 load_f16x16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
SP_AVX512 inline __m512 load_f16x16_masked(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
SP_AVX512 inline __m512 load_bf16x16(const uint16_t* p) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
SP_AVX512 inline __m512 load_bf16x16_masked(const uint16_t* p, __mmask16 m) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
SP_AVX512 inline __m512 load_f32x16(const float* p) { return _mm512_loadu_ps(p); }
SP_AVX512 inline __m512 load_f32x16_masked(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }

// One body for the three float weight types: Load/LoadMasked decode 16 weights.
template <typename T, __m512 (*Load)(const T*), __m512 (*LoadMasked)(const T*, __mmask16)>
SP_AVX512 float dot_float(const void* w_row, const XRow& x, int64_t k) {
  const T* w = static_cast<const T*>(w_row);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 64 <= k; i += 64) {
    acc0 = _mm512_fmadd_ps(Load(w + i), _mm512_loadu_ps(x.f32 + i), acc0);
    acc1 = _mm512_fmadd_ps(Load(w + i + 16), _mm512_loadu_ps(x.f32 + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(Load(w + i + 32), _mm512_loadu_ps(x.f32 + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(Load(w + i + 48), _mm512_loadu_ps(x.f32 + i + 48), acc3);
  }
  for (; i + 16 <= k; i += 16) acc0 = _mm512_fmadd_ps(Load(w + i), _mm512_loadu_ps(x.f32 + i), acc0);
  if (i < k) {
    const __mmask16 m = tail_mask(k - i);
    acc1 = _mm512_fmadd_ps(LoadMasked(w + i, m), _mm512_maskz_loadu_ps(m, x.f32 + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

SP_AVX512 inline float f16_scalar(uint16_t h) { return _cvtsh_ss(h); }

// [a (8 lanes), b (8 lanes)]: the scales of two blocks side by side.
SP_AVX512 inline __m512 two_scales(float a, float b) {
  const __m256d lo = _mm256_castps_pd(_mm256_set1_ps(a));
  const __m256d hi = _mm256_castps_pd(_mm256_set1_ps(b));
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(lo), hi, 1));
}

SP_AVX512 inline __m512i load_2x256(const void* a, const void* b) {
  const __m256i lo = _mm256_loadu_si256(static_cast<const __m256i*>(a));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256(static_cast<const __m256i*>(b)), 1);
}

// Nibbles of two q4 blocks → 64 bytes 0..15 in element order [a0..31, b0..31].
SP_AVX512 inline __m512i unpack_nibbles_2(const uint8_t* qs_a, const uint8_t* qs_b) {
  const __m256i packed = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs_b)),
                                          _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs_a)));
  __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(packed), _mm256_srli_epi16(packed, 4), 1);
  z = _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
  // 128-bit lanes are [a_lo, b_lo, a_hi, b_hi]; reorder to [a_lo, a_hi, b_lo, b_hi].
  return _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
}

// One q4 block the 256-bit way (odd block counts).
SP_AVX512 inline __m256i unpack_nibbles_1(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), _mm_and_si128(packed, mask));
}

SP_AVX512 inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

SP_AVX512 float dot_q8_0(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const BlockQ8_0*>(w_row);
  const int64_t n_blocks = k / kQuantBlock;
  __m512 acc = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= n_blocks; b += 2) {
    const __m512i w = load_2x256(blocks[b].qs, blocks[b + 1].qs);
    const __m512i xq = _mm512_loadu_si512(x.qs + b * kQuantBlock);
    // vpdpbusd needs an unsigned operand: |w| (-128 reads as 128) times x with w's sign.
    const __m512i x_signed = _mm512_mask_sub_epi8(xq, _mm512_movepi8_mask(w), _mm512_setzero_si512(), xq);
    const __m512i isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), x_signed);
    const __m512 s = two_scales(f16_scalar(blocks[b].d) * x.d[b], f16_scalar(blocks[b + 1].d) * x.d[b + 1]);
    acc = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(isum), acc);
  }
  float sum = _mm512_reduce_add_ps(acc);
  if (b < n_blocks) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[b].qs));
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + b * kQuantBlock));
    const __m256i isum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(xq, w));
    sum += hsum256(_mm256_cvtepi32_ps(isum)) * (f16_scalar(blocks[b].d) * x.d[b]);
  }
  return sum;
}

// Shared by q4_0 (offset 8, no minimum) and q4_1 (offset 0, minimum m).
template <typename Block, bool kHasMin>
SP_AVX512 float dot_q4(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const Block*>(w_row);
  const int64_t n_blocks = k / kQuantBlock;
  constexpr int32_t kOffset = kHasMin ? 0 : 8;
  __m512 acc = _mm512_setzero_ps();
  float acc_min = 0.0f;
  int64_t b = 0;
  for (; b + 2 <= n_blocks; b += 2) {
    const __m512i nibbles = unpack_nibbles_2(blocks[b].qs, blocks[b + 1].qs);
    const __m512i xq = _mm512_loadu_si512(x.qs + b * kQuantBlock);
    // sum (n - 8) q = sum n q - 8 sum q: start lanes 0 and 8 at -8·sum q.
    __m512i isum = _mm512_setzero_si512();
    if constexpr (kOffset != 0) {
      isum = _mm512_inserti32x4(_mm512_zextsi128_si512(_mm_cvtsi32_si128(-kOffset * x.sum[b])),
                                _mm_cvtsi32_si128(-kOffset * x.sum[b + 1]), 2);
    }
    isum = _mm512_dpbusd_epi32(isum, nibbles, xq);
    const __m512 s = two_scales(f16_scalar(blocks[b].d) * x.d[b], f16_scalar(blocks[b + 1].d) * x.d[b + 1]);
    acc = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(isum), acc);
    if constexpr (kHasMin) {
      acc_min += f16_scalar(blocks[b].m) * (float(x.sum[b]) * x.d[b]) +
                 f16_scalar(blocks[b + 1].m) * (float(x.sum[b + 1]) * x.d[b + 1]);
    }
  }
  float sum = _mm512_reduce_add_ps(acc);
  if (b < n_blocks) {
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + b * kQuantBlock));
    const __m256i isum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), unpack_nibbles_1(blocks[b].qs), xq);
    const float block_sum = hsum256(_mm256_cvtepi32_ps(isum)) - float(kOffset * x.sum[b]);
    sum += block_sum * (f16_scalar(blocks[b].d) * x.d[b]);
    if constexpr (kHasMin) acc_min += f16_scalar(blocks[b].m) * (float(x.sum[b]) * x.d[b]);
  }
  return sum + acc_min;
}

SP_AVX512 void quantize_x(const float* x, int8_t* qs, float* d, int32_t* sum, int64_t n_blocks) {
  for (int64_t b = 0; b < n_blocks; ++b, x += kQuantBlock, qs += kQuantBlock) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    d[b] = amax / 127.0f;
    const __m512 id = _mm512_set1_ps(d[b] != 0.0f ? 1.0f / d[b] : 0.0f);
    // Nearest-even conversion (default MXCSR), matching the scalar and AVX2 paths.
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id));
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
    sum[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtsepi32_epi8(q1));
  }
}

template <typename T, __m512 (*Load)(const T*), __m512 (*LoadMasked)(const T*, __mmask16)>
SP_AVX512 void axpy(float a, const T* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, Load(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, LoadMasked(x + i, m), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

// Same range reduction and polynomial as the AVX2 version (see there).
SP_AVX512 inline __m512 exp_nonpositive(__m512 x) {
  const __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
  x = _mm512_max_ps(_mm512_set1_ps(-87.3f), x);  // this operand order keeps a NaN x
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i scale = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mul_ps(__mmask16(~underflow), p, _mm512_castsi512_ps(scale));
}

SP_AVX512 float exp_sum(const float* x, float* y, float max, int64_t n) {
  const __m512 vmax = _mm512_set1_ps(max);
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmax));
    _mm512_storeu_ps(y + i, e);
    acc = _mm512_add_ps(acc, e);
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmax));
    _mm512_mask_storeu_ps(y + i, m, e);
    acc = _mm512_mask_add_ps(acc, m, acc, e);
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace

const CpuKernels& kernels_avx512() {
  static constexpr CpuKernels kTable = {
      .dot = {dot_float<float, load_f32x16, load_f32x16_masked>,
              dot_float<uint16_t, load_f16x16, load_f16x16_masked>,
              dot_float<uint16_t, load_bf16x16, load_bf16x16_masked>, dot_q8_0, dot_q4<BlockQ4_0, false>,
              dot_q4<BlockQ4_1, true>, nullptr},
      .quantize_x = quantize_x,
      .axpy_f32 = axpy<float, load_f32x16, load_f32x16_masked>,
      .axpy_f16 = axpy<uint16_t, load_f16x16, load_f16x16_masked>,
      .axpy_bf16 = axpy<uint16_t, load_bf16x16, load_bf16x16_masked>,
      .exp_sum = exp_sum,
  };
  return kTable;
}

}  // namespace samepage::cpu

#endif  // __x86_64__
