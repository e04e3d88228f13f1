// Rewrites GGUF quant rows in the GEMV layout (gemv_layout.h): one thread a
// block, its quants and scale (and min) copied to their places.
#include "backends/cuda/gemv_layout.h"

#include <cuda_runtime.h>

#include "backends/cuda/cuda_check.h"

namespace samepage::cuda {
namespace {

template <DType kDt>
__global__ void to_gemv_layout_kernel(const uint8_t* __restrict__ src, uint8_t* __restrict__ dst, int64_t n_rows,
                                      int64_t nb, uint64_t src_row, uint64_t dst_row) {
  constexpr int kQs = kDt == DType_q8_0 ? 32 : 16;          // quant bytes of a block
  constexpr int kHead = kDt == DType_q4_1 ? 4 : 2;           // scale (and min) before them
  constexpr int kBlock = kHead + kQs;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n_rows * nb;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / nb, b = i % nb;
    const uint8_t* in = src + uint64_t(row) * src_row + uint64_t(b) * kBlock;  // 2-byte aligned
    uint8_t* out = dst + uint64_t(row) * dst_row;
    const uint16_t* q = reinterpret_cast<const uint16_t*>(in + kHead);
    uint16_t* qo = reinterpret_cast<uint16_t*>(out + b * kQs);
#pragma unroll
    for (int j = 0; j < kQs / 2; ++j) qo[j] = q[j];
    uint16_t* scales = reinterpret_cast<uint16_t*>(out + nb * kQs);
    scales[b] = reinterpret_cast<const uint16_t*>(in)[0];
    if (kDt == DType_q4_1) scales[nb + b] = reinterpret_cast<const uint16_t*>(in)[1];
  }
}

}  // namespace

Status launch_to_gemv_layout(cudaStream_t s, DType dt, const void* src, void* dst, int64_t n_rows, int64_t k) {
  if (!gemv_layout_applies(dt, k) || n_rows <= 0) return err("cuda::gemv_layout", "not a quant weight of whole blocks");
  const int64_t nb = k / 32, total = n_rows * nb;
  const uint64_t src_row = dtype_row_bytes(dt, k), dst_row = gemv_layout_row_bytes(dt, k);
  const unsigned blocks = unsigned(total / 256 + 1 < 65536 ? total / 256 + 1 : 65536);
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  switch (dt) {
    case DType_q8_0: to_gemv_layout_kernel<DType_q8_0><<<blocks, 256, 0, s>>>(in, out, n_rows, nb, src_row, dst_row); break;
    case DType_q4_0: to_gemv_layout_kernel<DType_q4_0><<<blocks, 256, 0, s>>>(in, out, n_rows, nb, src_row, dst_row); break;
    case DType_q4_1: to_gemv_layout_kernel<DType_q4_1><<<blocks, 256, 0, s>>>(in, out, n_rows, nb, src_row, dst_row); break;
    default: return err("cuda::gemv_layout", "not a quant dtype");
  }
  return cuda_status(cudaGetLastError(), "cuda::gemv_layout", "launch");
}

}  // namespace samepage::cuda
