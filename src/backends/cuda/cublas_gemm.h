// The prefill matmul (m > kGemvMaxRows) on cuBLAS: y (m, n) f32 = x (m, k)
// f32 · W (n, k)ᵀ with tensor cores and f32 accumulation. 16-bit weights
// take x converted to their type; quant weights are dequantized to f16 and
// take x rounded to 8-bit blocks as the CPU does (then f16); f32 weights
// take SGEMM (full f32, no TF32). One handle per backend, on its stream,
// with an explicit workspace: the same calls replay inside CUDA graphs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "samepage/dtype.h"
#include "samepage/status.h"

namespace samepage::cuda {

// Device scratch one GEMM call needs (x in 16 bits, the dequantized weight);
// the caller sizes it before a capture.
uint64_t gemm_scratch_bytes(DType w_dtype, int64_t m, int64_t n, int64_t k);
// The same plus an (m, n) f32 output: what BlasGemm::warm writes to.
uint64_t gemm_warm_scratch_bytes(DType w_dtype, int64_t m, int64_t n, int64_t k);

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

  // Before a capture, each GEMM the graph will hold: shapes not run before
  // are run once now, into scratch (at least gemm_warm_scratch_bytes), so
  // that cuBLAS picks its kernel and loads its module outside the capture
  // (lazy module loading and heuristics may fail inside one).
  struct Shape {
    DType w_dtype;
    const void* w;   // the weight, as run() gets it
    const float* x;  // the activations, as run() gets them
    int64_t m, n, k;
  };
  Status warm(cudaStream_t s, const std::vector<Shape>& shapes, uint8_t* scratch);

 private:
  Status gemm(DType w_dtype, const void* w16, const void* x, float* y, int64_t m, int64_t n, int64_t k);
  std::vector<Shape> warm_;  // shapes run once (pointers not kept)
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
