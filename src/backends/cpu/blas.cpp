#include "backends/cpu/blas.h"

#include <dlfcn.h>

#include <algorithm>
#include <climits>
#include <string>

namespace samepage::cpu {
namespace {

// CBLAS constants (the CBLAS standard's enum values).
constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;
constexpr int kCblasTrans = 112;

using SgemmFn = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a,
                         int lda, const float* b, int ldb, float beta, float* c, int ldc);

// Below this many activation rows the GEMV kernels, which read each weight
// byte once, are as fast as sgemm and need no conversion.
constexpr int64_t kMinRowsForBlas = 16;
// f16/bf16 weights are widened this many rows at a time (k floats each).
constexpr int64_t kConvertRows = 256;

struct Blas {
  SgemmFn sgemm = nullptr;
  std::string description = "none";
};

const Blas& blas() {
  static const Blas loaded = [] {
    Blas b;
    for (const char* name : {"libopenblas.so.0", "libopenblas.so"}) {
      void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) continue;
      b.sgemm = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
      auto config = reinterpret_cast<const char* (*)()>(dlsym(handle, "openblas_get_config"));
      if (b.sgemm != nullptr) {
        b.description = config != nullptr ? config() : "OpenBLAS";
        break;
      }
    }
    return b;
  }();
  return loaded;
}

}  // namespace

const char* blas_description() { return blas().description.c_str(); }

bool matmul_blas(CpuContext& ctx, DType w_dtype, const void* w, const float* x, float* y, int64_t m, int64_t n,
                 int64_t k) {
  const SgemmFn sgemm = blas().sgemm;
  if (sgemm == nullptr || !ctx.use_blas() || m < kMinRowsForBlas) return false;
  // f16 is left to the kernels: widening it row by row costs more than sgemm
  // saves (bench/cpu_prefill_bench: 0.5-0.8x at m = 64), unlike bf16 (1.4-2.2x).
  if (w_dtype != DType_f32 && w_dtype != DType_bf16) return false;
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX) return false;
  const int mi = int(m), ni = int(n), ki = int(k);
  if (w_dtype == DType_f32) {
    sgemm(kCblasRowMajor, kCblasNoTrans, kCblasTrans, mi, ni, ki, 1.0f, x, ki, static_cast<const float*>(w), ki,
          0.0f, y, ni);
    return true;
  }
  auto* wide = static_cast<float*>(ctx.scratch(size_t(kConvertRows) * size_t(k) * sizeof(float)));
  if (wide == nullptr) return false;
  const size_t w_row_bytes = row_bytes(w_dtype, k);
  const auto* w_bytes = static_cast<const uint8_t*>(w);
  for (int64_t j0 = 0; j0 < n; j0 += kConvertRows) {
    const int64_t rows = std::min(kConvertRows, n - j0);
    ctx.pool().parallel_for(rows, 8, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        (void)dequantize_row(w_dtype, w_bytes + size_t(j0 + r) * w_row_bytes, wide + r * k, k);
    });
    // Columns j0 .. j0+rows of y, with y's full row stride.
    sgemm(kCblasRowMajor, kCblasNoTrans, kCblasTrans, mi, int(rows), ki, 1.0f, x, ki, wide, ki, 0.0f, y + j0, ni);
  }
  return true;
}

}  // namespace samepage::cpu
