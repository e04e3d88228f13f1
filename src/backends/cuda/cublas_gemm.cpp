#include "backends/cuda/cublas_gemm.h"

#include <cublas_v2.h>

#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {
namespace {

// Hopper's recommended cuBLAS workspace; set explicitly so that no call
// allocates (a graph capture forbids it).
constexpr size_t kWorkspaceBytes = size_t{32} << 20;

Status blas_status(cublasStatus_t e, const char* what) {
  if (e == CUBLAS_STATUS_SUCCESS) return Status::ok();
  return err("cuda::gemm", std::string(what) + ": " + cublasGetStatusName(e) + " (" + cublasGetStatusString(e) + ")");
}

}  // namespace

uint64_t gemm_scratch_bytes(DType w_dtype, int64_t m, int64_t n, int64_t k) {
  if (w_dtype == DType_f32) return 0;
  const uint64_t x16 = round_up_256(uint64_t(m) * uint64_t(k) * 2);
  if (!dtype_is_quantized(w_dtype)) return x16;
  return x16 + round_up_256(uint64_t(n) * uint64_t(k) * 2);
}

uint64_t gemm_warm_scratch_bytes(DType w_dtype, int64_t m, int64_t n, int64_t k) {
  return gemm_scratch_bytes(w_dtype, m, n, k) + round_up_256(uint64_t(m) * uint64_t(n) * 4);
}

void BlasGemm::reset() {
  if (handle_ != nullptr) cublasDestroy(static_cast<cublasHandle_t>(handle_));
  if (workspace_ != nullptr) cudaFree(workspace_);
  handle_ = nullptr;
  workspace_ = nullptr;
  warm_.clear();
}

Status BlasGemm::ensure(cudaStream_t s) {
  if (handle_ != nullptr) return Status::ok();
  cublasHandle_t h = nullptr;
  if (Status st = blas_status(cublasCreate(&h), "cublasCreate"); !st) return st;
  void* ws = nullptr;
  Status st = cuda_status(cudaMalloc(&ws, kWorkspaceBytes), "cuda::gemm", "cuBLAS workspace");
  // SetStream first: it resets the workspace to cuBLAS's own pool.
  if (st) st = blas_status(cublasSetStream(h, s), "cublasSetStream");
  if (st) st = blas_status(cublasSetWorkspace(h, ws, kWorkspaceBytes), "cublasSetWorkspace");
  // Pointers to alpha/beta are host values, captured by value in a graph.
  if (st) st = blas_status(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
  if (!st) {
    cublasDestroy(h);
    if (ws != nullptr) cudaFree(ws);
    return st;
  }
  handle_ = h;
  workspace_ = ws;
  return Status::ok();
}

Status BlasGemm::run(cudaStream_t s, DType dt, const void* w, const float* x, float* y, int64_t m, int64_t n,
                     int64_t k, uint8_t* scratch) {
  if (handle_ == nullptr) return err("cuda::gemm", "cuBLAS is not initialized");
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) return err("cuda::gemm", "matrix too large for cuBLAS");
  if (m == 0 || n == 0) return Status::ok();
  if (k == 0)  // an empty sum: zeros, as the CPU gives
    return cuda_status(cudaMemsetAsync(y, 0, uint64_t(m) * uint64_t(n) * 4, s), "cuda::gemm", "zero fill");
  if (dt == DType_f32) return gemm(dt, w, x, y, m, n, k);
  if (!dtype_is_weight(dt)) return err("cuda::gemm", std::string("unsupported weight dtype ") + dtype_name(dt));
  auto* x16 = reinterpret_cast<uint16_t*>(scratch);
  const void* w16 = w;
  if (dtype_is_quantized(dt)) {
    auto* wd = reinterpret_cast<uint16_t*>(scratch + round_up_256(uint64_t(m) * uint64_t(k) * 2));
    if (Status st = launch_round_x_f16(s, x, m * k, x16); !st) return st;
    if (Status st = launch_dequantize_f16(s, dt, w, wd, n, k); !st) return st;
    w16 = wd;
  } else if (Status st = launch_convert(LaunchStream{s, false}, DType_f32, x, dt, x16, m * k); !st) {
    return st;
  }
  return gemm(dt, w16, x16, y, m, n, k);
}

// The cuBLAS call alone: w16 and x are in the operand type (f32 for f32
// weights, else the weight's 16-bit type; f16 for quant ones).
Status BlasGemm::gemm(DType dt, const void* w16, const void* x, float* y, int64_t m, int64_t n,
                      int64_t k) {
  auto h = static_cast<cublasHandle_t>(handle_);
  const float one = 1.0f, zero = 0.0f;
  // Row-major y (m, n) = x (m, k) · W (n, k)ᵀ is column-major yᵀ (n, m) =
  // op(W) · xᵀ with W read transposed: both operands have leading dim k.
  const int mi = int(m), ni = int(n), ki = int(k);
  if (dt == DType_f32)
    return blas_status(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, ni, mi, ki, &one, static_cast<const float*>(w16), ki,
                                   static_cast<const float*>(x), ki, &zero, y, ni),
                       "cublasSgemm");
  const cudaDataType_t type = dt == DType_bf16 ? CUDA_R_16BF : CUDA_R_16F;
  return blas_status(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, ni, mi, ki, &one, w16, type, ki, x, type, ki, &zero, y,
                                  CUDA_R_32F, ni, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     "cublasGemmEx");
}

Status BlasGemm::warm(cudaStream_t, const std::vector<Shape>& shapes, uint8_t* scratch) {
  if (handle_ == nullptr) return err("cuda::gemm", "cuBLAS is not initialized");
  for (const Shape& o : shapes) {
    if (o.m == 0 || o.n == 0 || o.k == 0 || o.m > INT32_MAX || o.n > INT32_MAX || o.k > INT32_MAX) continue;
    bool seen = false;
    for (const Shape& w : warm_) seen = seen || (w.w_dtype == o.w_dtype && w.m == o.m && w.n == o.n && w.k == o.k);
    if (seen) continue;
    // Operands where run() passes them to cuBLAS (16-bit ones in scratch,
    // whatever it holds now), the product into scratch past them: nothing
    // the guest can see is written.
    auto* y = reinterpret_cast<float*>(scratch + gemm_scratch_bytes(o.w_dtype, o.m, o.n, o.k));
    const void* w16 = o.w;
    const void* x = o.x;
    if (o.w_dtype != DType_f32) x = scratch;
    if (dtype_is_quantized(o.w_dtype)) w16 = scratch + round_up_256(uint64_t(o.m) * uint64_t(o.k) * 2);
    if (Status st = gemm(o.w_dtype, w16, x, y, o.m, o.n, o.k); !st) return st;
    warm_.push_back({o.w_dtype, nullptr, nullptr, o.m, o.n, o.k});
  }
  return Status::ok();
}

}  // namespace samepage::cuda
