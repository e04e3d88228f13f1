// What a backend gets without writing it: views served in place, and
// sequences kept as their ops and run through the eager path with the
// parameters substituted (a GPU backend overrides both with its own buffers
// and graphs).
#include "samepage/backend.h"

#include <cstring>

namespace samepage {
namespace {

class OpList final : public CompiledSequence {
 public:
  explicit OpList(std::vector<SequenceOp> ops) : ops_(std::move(ops)) {}
  const std::vector<SequenceOp>& ops() const { return ops_; }

 private:
  std::vector<SequenceOp> ops_;
};

}  // namespace

Result<void*> Backend::tensor_create(const TensorDesc& tensor) {
  if (tensor.guest_data != nullptr) return tensor.guest_data;
  return err("backend", caps().name + " cannot allocate tensors of its own");
}

void Backend::tensor_release(uint64_t) {}

// A backend with memory of its own (a GPU) must copy its tensors itself:
// the default would dereference a device address on the host.
static Status refuse_device_memory(const Backend& backend, const char* what) {
  if (!backend.caps().device_memory) return Status::ok();
  return err(what, backend.caps().name +
                                                  " keeps runtime tensors in device memory and does not copy them "
                                                  "out or in yet (Backend::tensor_read/tensor_write)");
}

Status Backend::tensor_read_range(const TensorArg& tensor, uint64_t offset, uint64_t n_bytes, void* out) {
  const char* where = "backend::tensor_read";
  if (Status s = refuse_device_memory(*this, where); !s) return s;
  if (Status s = sync(); !s) return s;
  if (tensor.data == nullptr) return err(where, "tensor " + std::to_string(tensor.id) + " has no bytes");
  if (offset > tensor.n_bytes || n_bytes > tensor.n_bytes - offset)
    return err(where, "bytes past the end of tensor " + std::to_string(tensor.id));
  std::memcpy(out, static_cast<const uint8_t*>(tensor.data) + offset, n_bytes);
  return Status::ok();
}

Status Backend::tensor_write(const TensorArg& tensor, const void* in) {
  if (Status s = refuse_device_memory(*this, "backend::tensor_write"); !s) return s;
  if (Status s = sync(); !s) return s;
  if (tensor.data == nullptr) return err("backend::tensor_write", "tensor " + std::to_string(tensor.id) + " has no bytes");
  std::memcpy(tensor.data, in, tensor.n_bytes);
  return Status::ok();
}

Result<std::unique_ptr<CompiledSequence>> Backend::compile(const std::vector<SequenceOp>& ops) {
  return std::unique_ptr<CompiledSequence>(new OpList(ops));
}

Status Backend::run(CompiledSequence& sequence, const int32_t* params, size_t n_params) {
  auto* list = dynamic_cast<OpList*>(&sequence);
  if (list == nullptr) return err("backend::run", "not a sequence this backend compiled");
  for (size_t k = 0; k < list->ops().size(); ++k) {
    const SequenceOp& op = list->ops()[k];
    OpArgs args = op.args;
    for (int j = 0; j < 2; ++j) {
      if (op.param_slot[j] < 0) continue;
      if (static_cast<size_t>(op.param_slot[j]) >= n_params) return err("backend::run", "a parameter is missing");
      args.i[j] = params[op.param_slot[j]];
    }
    if (Status s = execute(args); !s) return err("backend::run", "op " + std::to_string(k) + ": " + s.message());
  }
  return Status::ok();
}

}  // namespace samepage
