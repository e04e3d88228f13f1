// copy and set_rows: element conversions between f32, f16 and bf16, rounding
// to nearest even as the CPU's converters; a same-dtype copy (quant blocks,
// i32 too) is a byte copy by a kernel (it may cross host registrations).
#include <cuda_runtime.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_dtype.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.h"

namespace samepage::cuda {
namespace {

// Float elements: load_element and store_float (device_dtype.h).
__device__ __forceinline__ float read_float(DType dt, const void* p, int64_t i) {
  return load_element(dt, static_cast<const uint8_t*>(p), i);
}

__global__ void convert_kernel(DType from, const void* src, DType to, void* dst, int64_t n) {
  pdl_enter();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    store_float(to, dst, i, read_float(from, src, i));
}

// set_rows: dst rows from row0 = src (n elements), converted; the same dtype
// moves the element's bits (a NaN payload stays what the guest saved). row0
// is read on the device when row0_at is set: a replayed graph's parameter.
__global__ void set_rows_kernel(DType from, const void* src, DType to, void* dst, int64_t row_elements, int64_t n,
                                int64_t row0, const int32_t* row0_at) {
  pdl_enter();
  if (row0_at != nullptr) row0 = *row0_at;
  const int64_t base = row0 * row_elements;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (from == to && to == DType_f32) static_cast<uint32_t*>(dst)[base + i] = static_cast<const uint32_t*>(src)[i];
    else if (from == to) static_cast<uint16_t*>(dst)[base + i] = static_cast<const uint16_t*>(src)[i];
    else store_float(to, dst, base + i, read_float(from, src, i));
  }
}

// get_rows: dst = src rows [row0, row0 + n / row_elements), converted. row0
// is read on the device when row0_at is set: a replayed graph's parameter.
__global__ void get_rows_kernel(DType from, const void* src, DType to, void* dst, int64_t row_elements, int64_t n,
                                int64_t row0, const int32_t* row0_at) {
  pdl_enter();
  if (row0_at != nullptr) row0 = *row0_at;
  const int64_t base = row0 * row_elements;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    store_float(to, dst, i, read_float(from, src, base + i));
}

// Bytes copied by threads, not cudaMemcpy: a guest range may span two host
// registrations (64 MiB chunks), which one cudaMemcpy refuses
// (cudaErrorInvalidValue) while kernel accesses cross them freely.
__global__ void copy_bytes_kernel(const uint8_t* src, uint8_t* dst, int64_t n) {
  pdl_enter();
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool vectors = (reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst)) % 16 == 0;
  const int64_t n_vectors = vectors ? n / 16 : 0;
  for (int64_t i = first; i < n_vectors; i += stride)
    reinterpret_cast<uint4*>(dst)[i] = reinterpret_cast<const uint4*>(src)[i];
  for (int64_t i = n_vectors * 16 + first; i < n; i += stride) dst[i] = src[i];
}

}  // namespace

Status launch_get_rows_at(const LaunchStream& s, DType from, const void* src, DType to, void* dst, int64_t row_elements,
                          int64_t n_rows, int64_t row0, const int32_t* row0_at) {
  const int64_t n = row_elements * n_rows;
  if (n <= 0) return Status::ok();
  if (!dtype_is_float(from) || !dtype_is_float(to))
    return err("cuda::get_rows", std::string("no conversion from ") + dtype_name(from) + " to " + dtype_name(to));
  return cuda_status(
      launch_kernel(s, grid_stride_blocks(n), 256, 0, get_rows_kernel, from, src, to, dst, row_elements, n, row0, row0_at),
      "cuda::get_rows", "launch");
}

Status launch_set_rows(const LaunchStream& s, DType from, const void* src, DType to, void* dst, int64_t row_elements,
                       int64_t n_rows, int64_t row0, const int32_t* row0_at) {
  const int64_t n = row_elements * n_rows;
  if (n <= 0) return Status::ok();
  if (!dtype_is_float(from) || !dtype_is_float(to))
    return err("cuda::set_rows", std::string("no conversion from ") + dtype_name(from) + " to " + dtype_name(to));
  // A same-dtype write at a known row is copy's 16-byte byte copy (a session
  // restore's rows); a replayed parameter needs the kernel that reads row0.
  if (from == to && row0_at == nullptr) {
    auto* first = static_cast<uint8_t*>(dst) + row0 * int64_t(dtype_row_bytes(to, row_elements));
    return launch_convert(s, from, src, to, first, n);
  }
  return cuda_status(launch_kernel(s, grid_stride_blocks(n), 256, 0, set_rows_kernel, from, src, to, dst, row_elements,
                                   n, row0, row0_at),
                     "cuda::set_rows", "launch");
}

Status launch_convert(const LaunchStream& s, DType from, const void* src, DType to, void* dst, int64_t n) {
  if (n <= 0) return Status::ok();
  if (from == to) {
    const size_t bytes = dtype_row_bytes(from, n);
    if (bytes == 0) return err("cuda::copy", "element count does not fill whole blocks");
    if (src == dst) return Status::ok();
    const int64_t units = int64_t(bytes / 16 + 1);
    return cuda_status(launch_kernel(s, grid_stride_blocks(units), 256, 0, copy_bytes_kernel,
                                     static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), int64_t(bytes)),
                       "cuda::copy", "launch");
  }
  if (!dtype_is_float(from) || !dtype_is_float(to))
    return err("cuda::copy", std::string("no conversion from ") + dtype_name(from) + " to " + dtype_name(to));
  return cuda_status(launch_kernel(s, grid_stride_blocks(n), 256, 0, convert_kernel, from, src, to, dst, n), "cuda::copy",
                     "launch");
}

}  // namespace samepage::cuda
