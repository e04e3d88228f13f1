// Quant weights (GGUF blocks, resident in HBM) dequantized to f16 for the
// prefill GEMM: each thread decodes 8 consecutive elements of one block and
// writes them as one 16-byte store, so a warp writes 512 contiguous bytes.
// Values are computed in f32 as the CPU decodes them, then rounded to f16.
#include <cuda_runtime.h>

#include "backends/cuda/cublas_gemm.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"

namespace samepage::cuda {
namespace {

__device__ __forceinline__ uint32_t pack2(float a, float b) {
  return uint32_t(__half_as_ushort(__float2half_rn(a))) | (uint32_t(__half_as_ushort(__float2half_rn(b))) << 16);
}

// Element group g: block g / 4, elements 8 (g % 4) .. +8 of it (in a row of
// n_blocks_row blocks: rows are whole blocks, so blocks run on across rows).
template <DType kDt>
__global__ void dequantize_kernel(const uint8_t* __restrict__ w, uint4* __restrict__ out, int64_t n_groups) {
  const int64_t g = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= n_groups) return;
  const int64_t b = g / 4;
  const int j0 = int(g % 4) * 8;
  float v[8];
  if constexpr (kDt == DType_q8_0) {
    const uint8_t* blk = w + b * kQ8_0Bytes;
    const float d = block_scale(blk);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = float(int8_t(blk[2 + j0 + i])) * d;
  } else if constexpr (kDt == DType_q4_0) {
    const uint8_t* blk = w + b * kQ4_0Bytes;
    const float d = block_scale(blk);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int j = j0 + i;
      const uint8_t byte = blk[2 + (j & 15)];
      v[i] = float(int(j < 16 ? byte & 15 : byte >> 4) - 8) * d;
    }
  } else {
    const uint8_t* blk = w + b * kQ4_1Bytes;
    const float d = block_scale(blk), m = block_scale(blk, 2);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int j = j0 + i;
      const uint8_t byte = blk[4 + (j & 15)];
      v[i] = float(j < 16 ? byte & 15 : byte >> 4) * d + m;
    }
  }
  out[g] = make_uint4(pack2(v[0], v[1]), pack2(v[2], v[3]), pack2(v[4], v[5]), pack2(v[6], v[7]));
}

}  // namespace

Status launch_dequantize_f16(cudaStream_t s, DType dt, const void* w, uint16_t* out, int64_t n, int64_t k) {
  if (k % kQBlock != 0) return err("cuda::dequantize", "rows are not whole blocks");
  if (reinterpret_cast<uintptr_t>(out) % 16 != 0) return err("cuda::dequantize", "output not 16-byte aligned");
  const int64_t n_groups = n * (k / 8);
  if (n_groups == 0) return Status::ok();
  const int64_t grid = (n_groups + 255) / 256;
  if (grid > INT32_MAX) return err("cuda::dequantize", "weight too large");
  const auto* wb = static_cast<const uint8_t*>(w);
  auto* o = reinterpret_cast<uint4*>(out);
  switch (dt) {
    case DType_q8_0: dequantize_kernel<DType_q8_0><<<unsigned(grid), 256, 0, s>>>(wb, o, n_groups); break;
    case DType_q4_0: dequantize_kernel<DType_q4_0><<<unsigned(grid), 256, 0, s>>>(wb, o, n_groups); break;
    case DType_q4_1: dequantize_kernel<DType_q4_1><<<unsigned(grid), 256, 0, s>>>(wb, o, n_groups); break;
    default: return err("cuda::dequantize", std::string("not a quant dtype: ") + dtype_name(dt));
  }
  return cuda_status(cudaGetLastError(), "cuda::dequantize", "launch");
}

}  // namespace samepage::cuda
