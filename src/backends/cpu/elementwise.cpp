// Elementwise ops: plain loops the compiler vectorizes where it can; they are
// a small share of a decode step next to the matmuls.
#include "backends/cpu/elementwise.h"

#include <cmath>
#include <cstring>
#include <string>

namespace samepage::cpu {

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void scale(const float* x, float s, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
}

void silu_mul(const float* a, const float* b, float* y, int64_t n) {
  // a / (1 + e^-a) stays finite for large |a|: e^-a = inf gives -0, not NaN.
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
}

Status convert(DType src_dtype, const void* src, DType dst_dtype, void* dst, int64_t n) {
  if (!dtype_valid(src_dtype) || !dtype_valid(dst_dtype) || n < 0) {
    return err("cpu::convert", "invalid dtype or size");
  }
  if (src_dtype == dst_dtype) {
    if (n > 0 && row_bytes(src_dtype, n) == 0) {
      return err("cpu::convert", std::to_string(n) + " elements do not fill whole " + dtype_name(src_dtype) + " blocks");
    }
    if (src != dst) std::memmove(dst, src, row_bytes(src_dtype, n));
    return Status::ok();
  }
  if (dst_dtype == DType_f32) return dequantize_row(src_dtype, src, static_cast<float*>(dst), n);
  if (src_dtype == DType_f32) return quantize_row(dst_dtype, static_cast<const float*>(src), dst, n);
  const auto* s = static_cast<const uint16_t*>(src);
  auto* d = static_cast<uint16_t*>(dst);
  if (src_dtype == DType_f16 && dst_dtype == DType_bf16) {
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(f16_to_f32(s[i]));
    return Status::ok();
  }
  if (src_dtype == DType_bf16 && dst_dtype == DType_f16) {
    for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(bf16_to_f32(s[i]));
    return Status::ok();
  }
  return err("cpu::convert", std::string("no conversion from ") + dtype_name(src_dtype) + " to " + dtype_name(dst_dtype));
}

}  // namespace samepage::cpu
