// Activations rounded to 8-bit blocks before a product with quant weights,
// exactly as the CPU reference does (backends/cpu/kernels_scalar.cpp,
// quantize_x): per 32 elements d = amax / 127, q = nearest-even(x / d) with
// 1/d taken first. IEEE division and rounding are the same here, so both
// backends see the same quants and their results differ only in summation
// order — which keeps a chain of quant matmuls (a decode step, then softmax)
// within the CPU's own error instead of compounding a second one.
#include <cuda_runtime.h>

#include "backends/cuda/cublas_gemm.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"

namespace samepage::cuda {
namespace {

// One warp per block of 32: lane i takes element i.
__global__ void quantize_x_kernel(const float* __restrict__ x, int64_t n_blocks, int8_t* __restrict__ qs,
                                  float* __restrict__ d) {
  // The product after it may start now (it reads its const weights until
  // its own wait), overlapping the product before this kernel.
  pdl_launch_dependents();
  pdl_wait();
  const int64_t b = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (b >= n_blocks) return;
  store_rounded_lane(x[b * 32 + lane], b * 32 + lane, qs, d);
}

// The same rounding, the rounded values stored as f16 for the GEMM (its
// inputs are 16-bit; the 8-bit values times a scale fit f16's range as long
// as |x| < 65504).
__global__ void round_x_f16_kernel(const float* __restrict__ x, int64_t n_blocks, uint16_t* __restrict__ out) {
  const int64_t b = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (b >= n_blocks) return;
  float scale;
  const float q = quantize_block_lane(x[b * 32 + lane], &scale);
  out[b * 32 + lane] = f32_to_f16_bits(q * scale);
}

}  // namespace

Status launch_round_x_f16(cudaStream_t s, const float* x, int64_t n, uint16_t* out) {
  if (n % 32 != 0) return err("cuda::matmul", "activations are not whole 32-element blocks");
  const int64_t n_blocks = n / 32;
  if (n_blocks == 0) return Status::ok();
  const int64_t grid = (n_blocks + 7) / 8;  // 8 warps a block
  if (grid > INT32_MAX) return err("cuda::matmul", "activations too large");
  round_x_f16_kernel<<<unsigned(grid), 256, 0, s>>>(x, n_blocks, out);
  return cuda_status(cudaGetLastError(), "cuda::matmul", "round_x_f16 launch");
}

Status launch_quantize_x(const LaunchStream& s, const float* x, int64_t n, QuantizedX out) {
  if (n % 32 != 0) return err("cuda::matmul", "activations are not whole 32-element blocks");
  const int64_t n_blocks = n / 32;
  if (n_blocks == 0) return Status::ok();
  const int64_t grid = (n_blocks + 7) / 8;  // 8 warps a block
  return cuda_status(launch_kernel(s, unsigned(grid), 256, 0, quantize_x_kernel, x, n_blocks, out.qs, out.d),
                     "cuda::matmul", "quantize_x launch");
}

}  // namespace samepage::cuda
