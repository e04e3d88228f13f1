// matmul: dispatch to the context's ISA kernels, threads over output rows.
#include "backends/cpu/matmul.h"

#include <algorithm>
#include <string>

#include "backends/cpu/blas.h"
#include "backends/cpu/kernels.h"

namespace samepage::cpu {

namespace {

// Activation rows processed against one weight row while it is in L1/L2:
// 16 rows of k = 8192 f32 are 512 KiB, within a typical L2.
constexpr int64_t kXRowBlock = 16;
// Smallest number of weight rows per task; fewer makes scheduling visible.
constexpr int64_t kMinRowsPerTask = 8;

struct QuantizedRows {
  int8_t* qs = nullptr;     // (m, k)
  float* d = nullptr;       // (m, k/32)
  int32_t* sum = nullptr;   // (m, k/32)
};

}  // namespace

Status matmul(CpuContext& ctx, DType w_dtype, const void* w, const float* x, float* y, int64_t m, int64_t n,
              int64_t k) {
  if (!dtype_is_weight(w_dtype)) return err("cpu::matmul", std::string("unsupported weight dtype ") + dtype_name(w_dtype));
  if (m < 0 || n < 0 || k < 0) return err("cpu::matmul", "negative size");
  if (k % dtype_block_size(w_dtype) != 0) {
    return err("cpu::matmul", "k = " + std::to_string(k) + " is not a multiple of the " + dtype_name(w_dtype) +
                                  " block size");
  }
  if (m == 0 || n == 0) return Status::ok();
  if (k == 0) {
    std::fill(y, y + m * n, 0.0f);
    return Status::ok();
  }

  // Prefill with float weights: OpenBLAS, when installed, is far faster.
  if (matmul_blas(ctx, w_dtype, w, x, y, m, n, k)) return Status::ok();

  const CpuKernels& kernels = cpu_kernels(ctx.isa());
  const DotFn dot = kernels.dot[w_dtype];
  const size_t w_row_bytes = row_bytes(w_dtype, k);
  const int64_t n_blocks = k / kQuantBlock;

  QuantizedRows xq;
  if (dtype_is_quantized(w_dtype)) {
    const size_t qs_bytes = size_t(m) * size_t(k);
    const size_t d_bytes = size_t(m) * size_t(n_blocks) * sizeof(float);
    auto* scratch = static_cast<uint8_t*>(ctx.scratch(qs_bytes + 2 * d_bytes));
    if (scratch == nullptr) return err("cpu::matmul", "out of memory for quantized activations");
    // d and sum first: they need 4-byte alignment, qs (bytes) does not.
    xq.d = reinterpret_cast<float*>(scratch);
    xq.sum = reinterpret_cast<int32_t*>(scratch + d_bytes);
    xq.qs = reinterpret_cast<int8_t*>(scratch + 2 * d_bytes);
    ctx.pool().parallel_for(m, 4, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        kernels.quantize_x(x + r * k, xq.qs + r * k, xq.d + r * n_blocks, xq.sum + r * n_blocks, n_blocks);
      }
    });
  }

  const auto* w_bytes = static_cast<const uint8_t*>(w);
  const int64_t grain = grain_for(ctx.pool(), n, kMinRowsPerTask);
  ctx.pool().parallel_for(n, grain, [&](int64_t j0, int64_t j1) {
    for (int64_t r0 = 0; r0 < m; r0 += kXRowBlock) {
      const int64_t r1 = std::min(m, r0 + kXRowBlock);
      for (int64_t j = j0; j < j1; ++j) {
        const void* w_row = w_bytes + size_t(j) * w_row_bytes;
        for (int64_t r = r0; r < r1; ++r) {
          XRow row{x + r * k, nullptr, nullptr, nullptr};
          if (xq.qs != nullptr) {
            row.qs = xq.qs + r * k;
            row.d = xq.d + r * n_blocks;
            row.sum = xq.sum + r * n_blocks;
          }
          y[r * n + j] = dot(w_row, row, k);
        }
      }
    }
  });
  return Status::ok();
}

}  // namespace samepage::cpu
