// CPU backend: elementwise ops on f32 rows and dtype conversion.
// Every op allows y to alias an input (in place); other overlaps are not allowed.
#pragma once

#include <cstdint>

#include "backends/cpu/dtype.h"
#include "samepage/status.h"

namespace samepage::cpu {

// y = a + b, all (n).
void add(const float* a, const float* b, float* y, int64_t n);
// y = x * s, all (n).
void scale(const float* x, float s, float* y, int64_t n);
// y = silu(a) * b with silu(a) = a / (1 + exp(-a)), all (n): the SwiGLU gate.
void silu_mul(const float* a, const float* b, float* y, int64_t n);

// dst (n elements of dst_dtype) = src (n elements of src_dtype). Supported:
// the same dtype (a byte copy, any type), any float or quant type → f32
// (dequantize), f32 → any float or quant type (quantize), f16 ↔ bf16.
// n must be a multiple of the block size of quant types. src and dst must not
// overlap unless the dtypes are equal and src == dst.
Status convert(DType src_dtype, const void* src, DType dst_dtype, void* dst, int64_t n);

}  // namespace samepage::cpu
