// The prefill matmul (m > kGemvMaxRows) on cuBLAS: y (m, n) f32 = x (m, k)
// f32 · W (n, k)ᵀ with tensor cores and f32 accumulation. 16-bit weights
// take x converted to their type; quant weights are dequantized to f16 and
// take x rounded to 8-bit blocks as the CPU does (then f16); f32 weights
// take SGEMM (full f32, no TF32). One handle per backend, on its stream,
// with an explicit workspace: the same calls replay inside CUDA graphs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "samepage/dtype.h"
#include "samepage/status.h"

namespace samepage::cuda {

// Device scratch one GEMM call needs (x in 16 bits, the dequantized weight);
// the caller sizes it before a capture.
uint64_t gemm_scratch_bytes(DType w_dtype, int64_t m, int64_t n, int64_t k);

class BlasGemm {
 public:
  BlasGemm() = default;
  ~BlasGemm() { reset(); }
  BlasGemm(const BlasGemm&) = delete;
  BlasGemm& operator=(const BlasGemm&) = delete;

  // Creates the handle and its workspace on first use (never during a
  // capture: both allocate).
  Status ensure(cudaStream_t s);
  void reset();
  bool ready() const { return handle_ != nullptr; }
  // scratch: at least gemm_scratch_bytes(w_dtype, m, n, k), 256-byte aligned.
  Status run(cudaStream_t s, DType w_dtype, const void* w, const float* x, float* y, int64_t m, int64_t n, int64_t k,
             uint8_t* scratch);

 private:
  void* handle_ = nullptr;     // cublasHandle_t
  void* workspace_ = nullptr;  // kWorkspaceBytes of HBM
};

// Kernels the GEMM path uses (dequantize.cu, quantize_x.cu).
// w (n, k) of a quant dtype → f16 (n, k), row-major.
Status launch_dequantize_f16(cudaStream_t s, DType w_dtype, const void* w, uint16_t* out, int64_t n, int64_t k);
// x (n elements, whole 32-blocks) rounded to 8-bit blocks as the CPU does
// (quantize_x), the rounded values written as f16 bits.
Status launch_round_x_f16(cudaStream_t s, const float* x, int64_t n, uint16_t* out);

}  // namespace samepage::cuda
