#include "backends/cuda/sequence_graph.h"

#include <algorithm>

#include "backends/cuda/cuda_check.h"

namespace samepage::cuda {

CudaSequence::CudaSequence(std::vector<SequenceOp> ops) : ops_(std::move(ops)) {
  for (const SequenceOp& op : ops_) {
    for (int32_t slot : op.param_slot)
      if (slot >= 0) n_params_ = std::max(n_params_, size_t(slot) + 1);
    if (op.args.op == OpCode_embedding) has_embedding_ = true;
  }
}

CudaSequence::~CudaSequence() {
  drop_graph();
  if (params_device_ != nullptr) cudaFree(params_device_);
  if (params_host_ != nullptr) cudaFreeHost(params_host_);
}

Status CudaSequence::ensure_param_buffers() {
  if (params_device_ != nullptr) return Status::ok();
  const size_t bytes = std::max<size_t>(n_params_, 1) * sizeof(int32_t);
  void* host = nullptr;
  SP_CUDA_TRY("cuda::compile", cudaMallocHost(&host, bytes));
  void* device = nullptr;
  if (cudaError_t e = cudaMalloc(&device, bytes); e != cudaSuccess) {
    cudaFreeHost(host);
    return cuda_status(e, "cuda::compile", "cudaMalloc of the parameter buffer");
  }
  params_host_ = static_cast<int32_t*>(host);
  params_device_ = static_cast<int32_t*>(device);
  std::fill(params_host_, params_host_ + bytes / sizeof(int32_t), 0);
  return Status::ok();
}

void CudaSequence::set_graph(cudaGraphExec_t exec, uint64_t epoch) {
  drop_graph();
  exec_ = exec;
  epoch_ = epoch;
}

void CudaSequence::drop_graph() {
  if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  exec_ = nullptr;
}

}  // namespace samepage::cuda
