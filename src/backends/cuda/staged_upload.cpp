#include "backends/cuda/staged_upload.h"

#include <algorithm>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/parallel_copy.h"

namespace samepage::cuda {

StagedUpload::~StagedUpload() {
  for (int k = 0; k < 2; ++k) {
    if (drained_[k] != nullptr) {
      cudaEventSynchronize(drained_[k]);
      cudaEventDestroy(drained_[k]);
    }
    if (staging_[k] != nullptr) cudaFreeHost(staging_[k]);
  }
}

Status StagedUpload::ensure_buffers() {
  if (staging_[1] != nullptr) return Status::ok();
  for (int k = 0; k < 2; ++k) {
    if (staging_[k] == nullptr) SP_CUDA_TRY("cuda::upload", cudaHostAlloc(&staging_[k], kSliceBytes, cudaHostAllocDefault));
    if (drained_[k] == nullptr)
      SP_CUDA_TRY("cuda::upload", cudaEventCreateWithFlags(&drained_[k], cudaEventDisableTiming));
  }
  return Status::ok();
}

Status StagedUpload::upload(void* device_dst, const void* host_src, uint64_t n_bytes, cudaStream_t s) {
  if (Status st = ensure_buffers(); !st) return st;
  const auto* src = static_cast<const uint8_t*>(host_src);
  auto* dst = static_cast<uint8_t*>(device_dst);
  int k = 0;
  for (uint64_t at = 0; at < n_bytes; at += kSliceBytes, k ^= 1) {
    const uint64_t len = std::min(kSliceBytes, n_bytes - at);
    // The DMA that last read this buffer (two slices ago) must be done.
    SP_CUDA_TRY("cuda::upload", cudaEventSynchronize(drained_[k]));
    parallel_copy(staging_[k], src + at, len, copy_threads(len));
    SP_CUDA_TRY("cuda::upload", cudaMemcpyAsync(dst + at, staging_[k], len, cudaMemcpyHostToDevice, s));
    SP_CUDA_TRY("cuda::upload", cudaEventRecord(drained_[k], s));
  }
  return Status::ok();
}

}  // namespace samepage::cuda
