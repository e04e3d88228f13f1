// A recorded sequence in the CUDA backend's form: its ops, and once it has
// been run, the CUDA graph captured from them (issue 9 item 4).
//
// Replay parameters (rope and attention pos0, set_rows row0) are not baked
// into the graph: the graph's first node copies a pinned host block of
// parameters into a small device buffer, and the kernels that take a
// position read it from there (a pointer beside their by-value fallback). So
// one instantiated graph serves every token: a decode step is the host write
// of the parameters, one cudaGraphLaunch and one synchronisation.
//
// A graph names device addresses and registered guest pages as they were at
// capture. The backend captures again when they may have changed: after a
// memory event unregistered guest pages (a file mapped or unmapped in a
// registered chunk, pages made writable again, release; growth does not),
// and after its scratch buffer moved (epoch below). A tensor freed after capture
// breaks the sequence in the host API, which drops this object (and so the
// graph) before the tensor's memory is released. Sequences that name a
// staged tensor (copy mode: pageable staging bytes copied per op) are not
// captured: they replay op by op, as do all when the backend was made with
// BackendOptions::native_replay false.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/fusion_plan.h"
#include "samepage/backend.h"

namespace samepage::cuda {

class CudaSequence final : public CompiledSequence {
 public:
  explicit CudaSequence(std::vector<SequenceOp> ops);
  ~CudaSequence() override;
  CudaSequence(const CudaSequence&) = delete;
  CudaSequence& operator=(const CudaSequence&) = delete;

  const std::vector<SequenceOp>& ops() const { return ops_; }
  size_t n_params() const { return n_params_; }  // 1 + the highest slot any op names
  bool has_embedding() const { return has_embedding_; }

  // The parameter buffers, made at the first capture: params_host (pinned,
  // n_params) is what the graph's first node copies into params_device.
  Status ensure_param_buffers();
  int32_t* params_host() const { return params_host_; }
  const int32_t* params_device() const { return params_device_; }

  // The instantiated graph, when one is valid for the backend's epoch.
  cudaGraphExec_t graph(uint64_t epoch) const { return exec_ != nullptr && epoch_ == epoch ? exec_ : nullptr; }
  void set_graph(cudaGraphExec_t exec, uint64_t epoch);
  void drop_graph();

  // Why this sequence replays op by op (empty: it is captured).
  std::string eager_reason;
  // Which ops a captured graph launches together (fusion_plan.h).
  std::vector<PlannedStep> plan;

 private:
  std::vector<SequenceOp> ops_;
  size_t n_params_ = 0;
  bool has_embedding_ = false;
  int32_t* params_host_ = nullptr;
  int32_t* params_device_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
  uint64_t epoch_ = 0;
};

}  // namespace samepage::cuda
