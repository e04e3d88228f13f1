// CUDA runtime errors as Status: every call that can fail is checked, and
// the message names the call and the runtime's words for the error.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "samepage/status.h"

namespace samepage::cuda {

inline Status cuda_status(cudaError_t e, const char* where, const char* what) {
  if (e == cudaSuccess) return Status::ok();
  return err(where, std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// Runs a runtime call and returns its failure as a Status from the enclosing function.
#define SP_CUDA_TRY(where, call)                                                   \
  do {                                                                             \
    if (::samepage::Status s_ = ::samepage::cuda::cuda_status((call), where, #call); !s_) return s_; \
  } while (0)

// Device allocations and scratch carve-outs are 256-byte aligned (what
// cudaMalloc gives and vector loads expect).
constexpr uint64_t round_up_256(uint64_t n) { return (n + 255) / 256 * 256; }

}  // namespace samepage::cuda
