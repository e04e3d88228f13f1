// The OpenBLAS prefill path and the hand-written kernels compute the same
// product: both against a float64 reference, at sizes that take each path.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backends/cpu/blas.h"
#include "backends/cpu/matmul.h"

namespace samepage::cpu {
namespace {

TEST(CpuBlas, SgemmAndKernelsAgreeWithFloat64) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  CpuContext ctx;
  for (DType dtype : {DType_f32, DType_bf16, DType_f16}) {
    for (int64_t m : {16, 33}) {
      const int64_t n = 45, k = 100;
      std::vector<float> x(static_cast<size_t>(m * k)), row(static_cast<size_t>(k)), wide(static_cast<size_t>(n * k));
      for (float& v : x) v = dist(rng);
      const size_t rb = row_bytes(dtype, k);
      std::vector<uint8_t> w(rb * size_t(n));
      for (int64_t r = 0; r < n; ++r) {
        for (float& v : row) v = dist(rng);
        ASSERT_TRUE(quantize_row(dtype, row.data(), w.data() + size_t(r) * rb, k));
        ASSERT_TRUE(dequantize_row(dtype, w.data() + size_t(r) * rb, wide.data() + r * k, k));
      }
      for (bool use_blas : {true, false}) {
        ctx.set_use_blas(use_blas);
        std::vector<float> y(static_cast<size_t>(m * n), NAN);  // poisoned: every element must be written
        ASSERT_TRUE(matmul(ctx, dtype, w.data(), x.data(), y.data(), m, n, k));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double ref = 0, mag = 0;
            for (int64_t q = 0; q < k; ++q) {
              ref += double(x[i * k + q]) * wide[j * k + q];
              mag += std::fabs(double(x[i * k + q]) * wide[j * k + q]);
            }
            // float32 accumulation of k products: (k + 2)·2⁻²⁴ of Σ|x·w|, any summation order.
            ASSERT_LE(std::fabs(y[i * n + j] - ref), (k + 2) * 0x1p-24 * mag)
                << dtype_name(dtype) << " m=" << m << " blas=" << use_blas << " at " << i << "," << j;
          }
      }
    }
  }
}

}  // namespace
}  // namespace samepage::cpu
