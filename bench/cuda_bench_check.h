// The CUDA benches' error checks: a failed CUDA or cuBLAS call ends the
// bench with the call and the reason (a bench has no partial result).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>

#define CHECK(call)                                                                               \
  do {                                                                                            \
    if (cudaError_t e_ = (call); e_ != cudaSuccess) {                                             \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
      std::exit(1);                                                                               \
    }                                                                                             \
  } while (0)
#define CHECK_BLAS(call)                                                                \
  do {                                                                                  \
    if (cublasStatus_t e_ = (call); e_ != CUBLAS_STATUS_SUCCESS) {                      \
      std::fprintf(stderr, "%s:%d %s: cublas %d\n", __FILE__, __LINE__, #call, int(e_)); \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)
