// AVX-512 (F/BW/VL/VNNI) kernels: Ice Lake / Sapphire Rapids, Zen 4 and later.
//
// Float dots use 16-lane FMAs with masked tails (no scalar remainder loop).
// Quantized dots handle two 32-element blocks per 512-bit register, four per
// loop iteration, and use VNNI's vpdpbusd (unsigned bytes · signed bytes,
// summed into int32), which replaces AVX2's maddubs + madd pair. The block
// scales of four blocks are converted and multiplied in one vector op: scalar
// per-block scale work was a third of the instructions. Same target-attribute rule as the AVX2
// file: nothing here may be inlined into code that runs on other CPUs.
#if defined(__x86_64__)

#include <immintrin.h>

#include <algorithm>

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

SP_AVX512 inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

SP_AVX512 inline float hsum128(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The f16 fields at `offset` bytes into four consecutive blocks, as 4 floats.
// One conversion for four blocks instead of four scalar ones.
template <typename Block>
SP_AVX512 inline __m128 load_f16_field4(const Block* blocks, size_t offset) {
  // q4 blocks are small enough that the four fields lie in the first 64
  // bytes of the four blocks: one load and one word permute gather them.
  if (3 * sizeof(Block) + offset + 2 <= 64 && (sizeof(Block) % 2 == 0) && (offset % 2 == 0)) {
    constexpr int kStride = int(sizeof(Block) / 2);
    const int first = int(offset / 2);
    const __m512i words = _mm512_loadu_si512(blocks);  // 4 blocks are >= 72 bytes: inside the row
    const __m512i index = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, short(first + 3 * kStride), short(first + 2 * kStride),
                                           short(first + kStride), short(first));
    return _mm_cvtph_ps(_mm512_castsi512_si128(_mm512_permutexvar_epi16(index, words)));
  }
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

// The same for two blocks (lanes 2 and 3 are 0): a row's last two blocks,
// where reading four would run past the row.
template <typename Block>
SP_AVX512 inline __m128 load_f16_field2(const Block* blocks, size_t offset) {
  uint16_t h0, h1;
  __builtin_memcpy(&h0, reinterpret_cast<const uint8_t*>(blocks) + offset, 2);
  __builtin_memcpy(&h1, reinterpret_cast<const uint8_t*>(blocks + 1) + offset, 2);
  return _mm_cvtph_ps(_mm_insert_epi16(_mm_cvtsi32_si128(int(h0)), int(h1), 1));
}

// Two floats (or int32s) into lanes 0 and 1, zeros above.
SP_AVX512 inline __m128 load_2_ps(const float* p) {
  return _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
SP_AVX512 inline __m128 load_2_i32_as_ps(const int32_t* p) {
  return _mm_cvtepi32_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// 4 block scales → [s0 x8, s1 x8] and [s2 x8, s3 x8], lined up with the
// int32 lanes vpdpbusd produces for two blocks.
struct Scales4 {
  __m512 s01, s23;
};
SP_AVX512 inline Scales4 spread_scales(__m128 s4) {
  const __m512 wide = _mm512_castps128_ps512(s4);  // lanes 4..15 are never selected
  return {_mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), wide),
          _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2), wide)};
}

// Nibbles of two q4 blocks → 64 bytes 0..15 in x's element order:
// [a 0..15 (low nibbles), a 16..31 (high), b 0..15, b 16..31]. Each block's
// 16 bytes are broadcast to two 128-bit lanes; the second lane shifts by 4.
SP_AVX512 inline __m512i unpack_nibbles_2(const uint8_t* qs_a, const uint8_t* qs_b) {
  __m512i z = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs_a)));
  z = _mm512_mask_broadcast_i32x4(z, 0xff00, _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs_b)));
  // A 64-bit shift also moves the next byte's low nibble down; the mask drops it.
  z = _mm512_srlv_epi64(z, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0));
  return _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
}

// One q4 block the 256-bit way (block counts not divisible by 4).
SP_AVX512 inline __m256i unpack_nibbles_1(const uint8_t* qs) {
  const __m256i z = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi64(z, _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(0x0f));
}

// Signed q8 weights · signed x quants for two blocks, as 16 int32 partial sums.
// vpdpbusd needs an unsigned operand: |w| (-128 reads as 128) times x with w's sign.
SP_AVX512 inline __m512i dot_q8_pair(const BlockQ8_0* blocks, const int8_t* xq) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[0].qs));
  const __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(lo),
                                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[1].qs)), 1);
  const __m512i x = _mm512_loadu_si512(xq);
  const __m512i x_signed = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), x_signed);
}

SP_AVX512 float dot_q8_0(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const BlockQ8_0*>(w_row);
  const int64_t n_blocks = k / kQuantBlock;
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
  int64_t b = 0;
  for (; b + 4 <= n_blocks; b += 4) {
    const Scales4 s = spread_scales(_mm_mul_ps(load_f16_field4(blocks + b, 0), _mm_loadu_ps(x.d + b)));
    acc0 = _mm512_fmadd_ps(s.s01, _mm512_cvtepi32_ps(dot_q8_pair(blocks + b, x.qs + b * kQuantBlock)), acc0);
    acc1 = _mm512_fmadd_ps(s.s23, _mm512_cvtepi32_ps(dot_q8_pair(blocks + b + 2, x.qs + (b + 2) * kQuantBlock)), acc1);
  }
  // Rows of 576 (18 blocks) end in two: one 512-bit step, not two 256-bit ones.
  if (b + 2 <= n_blocks) {
    const Scales4 s = spread_scales(_mm_mul_ps(load_f16_field2(blocks + b, 0), load_2_ps(x.d + b)));
    acc0 = _mm512_fmadd_ps(s.s01, _mm512_cvtepi32_ps(dot_q8_pair(blocks + b, x.qs + b * kQuantBlock)), acc0);
    b += 2;
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; b < n_blocks; ++b) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[b].qs));
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + b * kQuantBlock));
    const __m256i isum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(xq, w));
    sum += float(hsum_i32(isum)) * (f16_scalar(blocks[b].d) * x.d[b]);
  }
  return sum;
}

// Shared by q4_0 (value (n - 8)·d) and q4_1 (value n·d + m):
//   sum_i w_i q_i dx = d dx sum n q  -  8 d dx sum q   (q4_0)
//                                    +  m dx sum q     (q4_1)
// The first term is the integer dot; the second uses the per-block sum of
// x quants, four blocks per vector op.
template <typename Block, bool kHasMin>
SP_AVX512 float dot_q4(const void* w_row, const XRow& x, int64_t k) {
  const auto* blocks = static_cast<const Block*>(w_row);
  const int64_t n_blocks = k / kQuantBlock;
  constexpr size_t kMinOffset = 2;  // BlockQ4_1::m
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
  __m128 acc_sum = _mm_setzero_ps();  // sum over blocks of (d or m)·dx·sum q
  int64_t b = 0;
  for (; b + 4 <= n_blocks; b += 4) {
    const __m128 dx = _mm_loadu_ps(x.d + b);
    const __m128 s4 = _mm_mul_ps(load_f16_field4(blocks + b, 0), dx);
    const Scales4 s = spread_scales(s4);
    const __m512i p01 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_nibbles_2(blocks[b].qs, blocks[b + 1].qs),
                                            _mm512_loadu_si512(x.qs + b * kQuantBlock));
    const __m512i p23 = _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                                            unpack_nibbles_2(blocks[b + 2].qs, blocks[b + 3].qs),
                                            _mm512_loadu_si512(x.qs + (b + 2) * kQuantBlock));
    acc0 = _mm512_fmadd_ps(s.s01, _mm512_cvtepi32_ps(p01), acc0);
    acc1 = _mm512_fmadd_ps(s.s23, _mm512_cvtepi32_ps(p23), acc1);
    const __m128 xsum = _mm_cvtepi32_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.sum + b)));
    if constexpr (kHasMin) {
      acc_sum = _mm_fmadd_ps(_mm_mul_ps(load_f16_field4(blocks + b, kMinOffset), dx), xsum, acc_sum);
    } else {
      acc_sum = _mm_fmadd_ps(s4, xsum, acc_sum);
    }
  }
  // Two blocks left (rows of 576): one 512-bit step; lanes 2 and 3 of the
  // 128-bit terms are zero.
  if (b + 2 <= n_blocks) {
    const __m128 dx = load_2_ps(x.d + b);
    const __m128 s2 = _mm_mul_ps(load_f16_field2(blocks + b, 0), dx);
    const __m512i p01 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpack_nibbles_2(blocks[b].qs, blocks[b + 1].qs),
                                            _mm512_loadu_si512(x.qs + b * kQuantBlock));
    acc0 = _mm512_fmadd_ps(spread_scales(s2).s01, _mm512_cvtepi32_ps(p01), acc0);
    const __m128 xsum = load_2_i32_as_ps(x.sum + b);
    if constexpr (kHasMin) {
      acc_sum = _mm_fmadd_ps(_mm_mul_ps(load_f16_field2(blocks + b, kMinOffset), dx), xsum, acc_sum);
    } else {
      acc_sum = _mm_fmadd_ps(s2, xsum, acc_sum);
    }
    b += 2;
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  float sum_term = hsum128(acc_sum);
  for (; b < n_blocks; ++b) {
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + b * kQuantBlock));
    const __m256i isum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), unpack_nibbles_1(blocks[b].qs), xq);
    const float dw = f16_scalar(blocks[b].d);
    sum += float(hsum_i32(isum)) * (dw * x.d[b]);
    if constexpr (kHasMin) {
      sum_term += f16_scalar(blocks[b].m) * x.d[b] * float(x.sum[b]);
    } else {
      sum_term += dw * x.d[b] * float(x.sum[b]);
    }
  }
  return kHasMin ? sum + sum_term : sum - 8.0f * sum_term;
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

// Attention rows (see kernels.h): the row loop lives here, so there is no call
// per row, and sum_rows keeps 4 accumulators (64 columns) in registers across
// all rows. Masked loads handle any d.
template <typename T, __m512 (*Load)(const T*), __m512 (*LoadMasked)(const T*, __mmask16)>
SP_AVX512 void dot_rows(const void* rows, size_t stride_bytes, int64_t n_rows, const float* x, int64_t d, float* out) {
  const int64_t n_full = d / 16 * 16;
  const __mmask16 tail = tail_mask(d - n_full);
  for (int64_t r = 0; r < n_rows; ++r) {
    const T* row = reinterpret_cast<const T*>(static_cast<const uint8_t*>(rows) + size_t(r) * stride_bytes);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    int64_t i = 0;
    for (; i + 32 <= n_full; i += 32) {
      acc0 = _mm512_fmadd_ps(Load(row + i), _mm512_loadu_ps(x + i), acc0);
      acc1 = _mm512_fmadd_ps(Load(row + i + 16), _mm512_loadu_ps(x + i + 16), acc1);
    }
    if (i < n_full) acc0 = _mm512_fmadd_ps(Load(row + i), _mm512_loadu_ps(x + i), acc0);
    if (tail) acc1 = _mm512_fmadd_ps(LoadMasked(row + n_full, tail), _mm512_maskz_loadu_ps(tail, x + n_full), acc1);
    out[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  }
}

template <typename T, __m512 (*Load)(const T*), __m512 (*LoadMasked)(const T*, __mmask16)>
SP_AVX512 void sum_rows(const void* rows, size_t stride_bytes, int64_t n_rows, const float* weights, int64_t d,
                        float* out) {
  const auto row_at = [&](int64_t r) {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(rows) + size_t(r) * stride_bytes);
  };
  int64_t c = 0;
  for (; c + 64 <= d; c += 64) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t r = 0; r < n_rows; ++r) {
      const T* row = row_at(r) + c;
      const __m512 w = _mm512_set1_ps(weights[r]);
      acc0 = _mm512_fmadd_ps(w, Load(row), acc0);
      acc1 = _mm512_fmadd_ps(w, Load(row + 16), acc1);
      acc2 = _mm512_fmadd_ps(w, Load(row + 32), acc2);
      acc3 = _mm512_fmadd_ps(w, Load(row + 48), acc3);
    }
    _mm512_storeu_ps(out + c, acc0);
    _mm512_storeu_ps(out + c + 16, acc1);
    _mm512_storeu_ps(out + c + 32, acc2);
    _mm512_storeu_ps(out + c + 48, acc3);
  }
  for (; c < d; c += 16) {
    const __mmask16 m = tail_mask(std::min<int64_t>(16, d - c));
    __m512 acc = _mm512_setzero_ps();
    for (int64_t r = 0; r < n_rows; ++r) acc = _mm512_fmadd_ps(_mm512_set1_ps(weights[r]), LoadMasked(row_at(r) + c, m), acc);
    _mm512_mask_storeu_ps(out + c, m, acc);
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
      .dot_rows = {dot_rows<float, load_f32x16, load_f32x16_masked>,
                   dot_rows<uint16_t, load_f16x16, load_f16x16_masked>,
                   dot_rows<uint16_t, load_bf16x16, load_bf16x16_masked>},
      .sum_rows = {sum_rows<float, load_f32x16, load_f32x16_masked>,
                   sum_rows<uint16_t, load_f16x16, load_f16x16_masked>,
                   sum_rows<uint16_t, load_bf16x16, load_bf16x16_masked>},
      .exp_sum = exp_sum,
  };
  return kTable;
}

}  // namespace samepage::cpu

#endif  // __x86_64__
