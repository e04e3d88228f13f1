// copy and set_rows: element conversions between f32, f16 and bf16, rounding
// to nearest even as the CPU's converters; a same-dtype copy (quant blocks,
// i32 too) is a device-to-device byte copy.
#include <cuda_runtime.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

__device__ __forceinline__ float read_float(DType dt, const void* p, int64_t i) {
  if (dt == DType_f32) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  return dt == DType_f16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
}

__global__ void convert_kernel(DType from, const void* src, DType to, void* dst, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = read_float(from, src, i);
    if (to == DType_f32) static_cast<float*>(dst)[i] = v;
    else if (to == DType_f16) static_cast<uint16_t*>(dst)[i] = f32_to_f16_bits(v);
    else static_cast<uint16_t*>(dst)[i] = f32_to_bf16_bits(v);
  }
}

}  // namespace

Status launch_convert(cudaStream_t s, DType from, const void* src, DType to, void* dst, int64_t n) {
  if (n <= 0) return Status::ok();
  if (from == to) {
    const size_t bytes = dtype_row_bytes(from, n);
    if (bytes == 0) return err("cuda::copy", "element count does not fill whole blocks");
    if (src == dst) return Status::ok();
    return cuda_status(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s), "cuda::copy", "cudaMemcpyAsync");
  }
  if (!dtype_is_float(from) || !dtype_is_float(to))
    return err("cuda::copy", std::string("no conversion from ") + dtype_name(from) + " to " + dtype_name(to));
  const int64_t blocks = (n + 255) / 256;
  convert_kernel<<<unsigned(blocks < 65536 ? blocks : 65536), 256, 0, s>>>(from, src, to, dst, n);
  return cuda_status(cudaGetLastError(), "cuda::copy", "launch");
}

}  // namespace samepage::cuda
