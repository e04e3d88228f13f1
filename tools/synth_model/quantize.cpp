#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace synth {
namespace {

uint32_t bits_of(float x) {
  uint32_t u = 0;
  std::memcpy(&u, &x, 4);
  return u;
}

void put_u16(uint8_t* out, uint16_t v) { std::memcpy(out, &v, 2); }

// Round to nearest, ties to even, for |v| < 2^22 (quantized values stay within
// +-128): adding 1.5 * 2^23 leaves no fraction bits, so the FPU's default
// rounding does the work, without a libm call per element.
float round_even(float v) {
  constexpr float kMagic = 12582912.0f;
  const float shifted = v + kMagic;  // exact IEEE order: we never build with -ffast-math
  return shifted - kMagic;
}

// d as stored (f16) and as the reader will see it, so the integers are chosen
// against the scale that dequantization really uses.
float rounded_scale(float d, uint8_t* out) {
  const uint16_t h = float_to_f16(d);
  put_u16(out, h);
  return f16_to_float(h);
}

}  // namespace

uint16_t float_to_f16(float x) {
  const uint32_t u = bits_of(x);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {
    // Subnormal half (or zero): round abs / 2^-24 to an integer, ties to even.
    float a = 0;
    std::memcpy(&a, &abs, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.0f)));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to even.
  const uint32_t mant_round = abs + 0xfffu + ((abs >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((mant_round - 0x38000000u) >> 13));
}

float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  float value = 0;
  if (exp == 0) {
    value = std::ldexp(static_cast<float>(mant), -24);
  } else if (exp == 31) {
    value = mant ? NAN : INFINITY;
  } else {
    value = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  }
  return sign ? -value : value;
}

uint16_t float_to_bf16(float x) {
  const uint32_t u = bits_of(x);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

void encode_f32(const float* x, size_t n, uint8_t* out) { std::memcpy(out, x, n * 4); }

void encode_f16(const float* x, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) put_u16(out + 2 * i, float_to_f16(x[i]));
}

void encode_bf16(const float* x, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) put_u16(out + 2 * i, float_to_bf16(x[i]));
}

void quantize_q8_0(const float* x, size_t n, uint8_t* out) {
  for (size_t b = 0; b < n / kQuantBlock; ++b, x += kQuantBlock, out += 34) {
    float amax = 0;
    for (size_t j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = rounded_scale(amax / 127.0f, out);
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    for (size_t j = 0; j < kQuantBlock; ++j) {
      const float q = std::clamp(round_even(x[j] * inv), -127.0f, 127.0f);
      out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
  }
}

void quantize_q4_0(const float* x, size_t n, uint8_t* out) {
  for (size_t b = 0; b < n / kQuantBlock; ++b, x += kQuantBlock, out += 18) {
    // The element of largest magnitude maps exactly to q = 0, i.e. -8 * d.
    float extreme = 0;
    for (size_t j = 0; j < kQuantBlock; ++j) {
      if (std::fabs(x[j]) > std::fabs(extreme)) extreme = x[j];
    }
    const float d = rounded_scale(extreme / -8.0f, out);
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    uint8_t q[kQuantBlock];
    for (size_t j = 0; j < kQuantBlock; ++j) {
      q[j] = static_cast<uint8_t>(std::clamp(round_even(x[j] * inv) + 8.0f, 0.0f, 15.0f));
    }
    for (size_t j = 0; j < 16; ++j) out[2 + j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
  }
}

void quantize_q4_1(const float* x, size_t n, uint8_t* out) {
  for (size_t b = 0; b < n / kQuantBlock; ++b, x += kQuantBlock, out += 20) {
    float lo = x[0], hi = x[0];
    for (size_t j = 1; j < kQuantBlock; ++j) {
      lo = std::min(lo, x[j]);
      hi = std::max(hi, x[j]);
    }
    const float d = rounded_scale((hi - lo) / 15.0f, out);
    const float m = rounded_scale(lo, out + 2);
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    uint8_t q[kQuantBlock];
    for (size_t j = 0; j < kQuantBlock; ++j) {
      q[j] = static_cast<uint8_t>(std::clamp(round_even((x[j] - m) * inv), 0.0f, 15.0f));
    }
    for (size_t j = 0; j < 16; ++j) out[4 + j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
  }
}

}  // namespace synth
