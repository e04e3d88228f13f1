// Float encodings and ggml block quantizations written by the synthetic model
// writer. Layouts are facts of the GGUF format (ggml-common.h), checked against
// the gguf Python package's dequantize in tests/llm/check_synth_gguf.py:
//   Q8_0 block (34 B): f16 d, int8 q[32];            x = q * d
//   Q4_0 block (18 B): f16 d, u8 nibbles[16];        x = (q - 8) * d
//   Q4_1 block (20 B): f16 d, f16 m, u8 nibbles[16]; x = q * d + m
// In Q4 blocks byte j holds element j in its low nibble, element j+16 in its high one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace synth {

constexpr size_t kQuantBlock = 32;  // elements per Q8_0/Q4_0/Q4_1 block

// IEEE binary16 and bfloat16, rounding to nearest even (no NaNs arise here).
uint16_t float_to_f16(float x);
float f16_to_float(uint16_t h);
uint16_t float_to_bf16(float x);

// Each encodes n elements of x into out; n is a multiple of kQuantBlock for
// the block formats. out holds exactly the bytes the format takes for n.
void encode_f32(const float* x, size_t n, uint8_t* out);
void encode_f16(const float* x, size_t n, uint8_t* out);
void encode_bf16(const float* x, size_t n, uint8_t* out);
void quantize_q8_0(const float* x, size_t n, uint8_t* out);
void quantize_q4_0(const float* x, size_t n, uint8_t* out);
void quantize_q4_1(const float* x, size_t n, uint8_t* out);

}  // namespace synth
