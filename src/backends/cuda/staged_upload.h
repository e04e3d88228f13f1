// Large uploads of guest bytes that are not registered (const views in a
// file-mapped GGUF, read at their first use) through two pinned staging
// buffers: CPU threads fill one while the DMA engine empties the other.
//
// Why not register the pages, as shared views are: pinning costs 0.19–0.24
// s/GiB on the H200 host (../shared/DESIGN.md §3, as are the rates below),
// more than the upload itself, and a const view is read once. The driver's
// pageable path (7–11 GB/s measured) stages too, one copy at a time; here
// the CPU copy is spread over threads and overlaps the DMA, which runs at
// 55 GB/s from pinned memory: end to end 14.5 GB/s measured (bench/
// RESULTS.md, Session 13). Small uploads keep the driver's path (no
// threads, no staging).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "samepage/status.h"

namespace samepage::cuda {

class StagedUpload {
 public:
  static constexpr uint64_t kSliceBytes = uint64_t{16} << 20;  // each staging buffer
  static constexpr uint64_t kMinBytes = uint64_t{4} << 20;     // smaller: the driver's pageable copy

  StagedUpload() = default;
  ~StagedUpload();
  StagedUpload(const StagedUpload&) = delete;
  StagedUpload& operator=(const StagedUpload&) = delete;

  // device_dst[0, n) = host_src[0, n) on s: returns once every byte is in
  // a staging buffer or sent, the last DMA still in flight (work enqueued
  // on s later runs after it; the next upload waits for its buffer), so
  // one view's DMA overlaps the next one's CPU copy.
  Status upload(void* device_dst, const void* host_src, uint64_t n_bytes, cudaStream_t s);
  // The pinned host bytes it holds (2 × kSliceBytes once used, else 0).
  uint64_t pinned_bytes() const { return staging_[0] != nullptr ? 2 * kSliceBytes : 0; }

 private:
  Status ensure_buffers();

  void* staging_[2] = {nullptr, nullptr};
  cudaEvent_t drained_[2] = {nullptr, nullptr};  // the DMA out of staging_[k] finished
};

}  // namespace samepage::cuda
