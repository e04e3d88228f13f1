#include "api/host_api.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "guest_call/guest_context.h"
#include "samepage/linear_memory.h"

namespace samepage {
namespace {

constexpr size_t kMaxSequences = 4096;
constexpr size_t kMaxRecordedOps = 1 << 18;  // across all of a guest's sequences

AlignedBytes allocate_zeroed(uint64_t n_bytes) {
  const uint64_t rounded = (n_bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p != nullptr) std::memset(p, 0, rounded);  // memory handed to a guest is zeroed
  return AlignedBytes(static_cast<uint8_t*>(p));
}

}  // namespace

HostApi::HostApi(std::unique_ptr<Backend> backend, MemoryMode mode, std::shared_ptr<GuestAccount> account)
    : account_(account ? std::move(account) : std::make_shared<GuestAccount>()),
      backend_(std::move(backend)),
      mode_(mode),
      recorded_charge_(account_.get(), 0) {}
HostApi::~HostApi() = default;  // guest memory (and its protections) goes with the instance

void HostApi::attach(GuestContext* context, LinearMemory* memory) {
  context_ = context;
  memory_ = memory;
  if (memory_ != nullptr && mode_ == MemoryMode::MemoryMode_shared) {
    // The backend may address guest memory in place; if it cannot, use copies.
    if (!backend_->use_host_memory(memory_->base(), memory_->size_bytes()))
      mode_ = MemoryMode::MemoryMode_copy;
  }
}

int32_t HostApi::fail(int32_t code, std::string message) {
  last_error_ = std::move(message);
  return code;
}

int32_t HostApi::read_shape(int32_t n_dims, uint32_t shape_ptr, int64_t shape[4]) {
  if (n_dims < 1 || n_dims > 4) return fail(ApiStatus_arg, "n_dims must be 1 to 4, got " + std::to_string(n_dims));
  GuestMemory mem = context_->guest_memory();
  for (int i = 0; i < n_dims; ++i) {
    uint32_t dim = 0;
    if (!mem.load(uint64_t{shape_ptr} + 4u * i, &dim)) return fail(ApiStatus_range, "shape pointer is outside guest memory");
    if (dim == 0) return fail(ApiStatus_shape, "dimension " + std::to_string(i) + " is 0");
    shape[i] = dim;
  }
  return ApiStatus_ok;
}

int32_t HostApi::describe_tensor(const char* what, int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags,
                                 Tensor* t) {
  const std::string where(what);
  if (!dtype_known(dtype)) return fail(ApiStatus_dtype, where + ": unknown dtype " + std::to_string(dtype));
  if (flags < 0 || flags > (kFlagConst | kFlagDevice))
    return fail(ApiStatus_arg, where + ": unknown flags " + std::to_string(flags));
  t->dtype = static_cast<TensorDType>(dtype);
  t->n_dims = n_dims;
  t->flags = flags;
  if (int32_t rc = read_shape(n_dims, shape_ptr, t->shape); rc != ApiStatus_ok) return rc;
  t->n_bytes = tensor_bytes(t->dtype, n_dims, t->shape);
  if (t->n_bytes == 0)
    return fail(ApiStatus_shape, where + ": shape does not fit " + dtype_label(t->dtype) +
                                     " (rows of quant types must be multiples of 32)");
  return ApiStatus_ok;
}

int32_t HostApi::tensor_view(uint32_t ptr, int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags) {
  if (memory_ == nullptr) return fail(ApiStatus_state, "tensor_view: this guest has no memory");
  Tensor t;
  if (int32_t rc = describe_tensor("tensor_view", dtype, n_dims, shape_ptr, flags, &t); rc != ApiStatus_ok) return rc;
  if (context_->guest_memory().range(ptr, t.n_bytes) == nullptr)
    return fail(ApiStatus_range, "tensor_view: [" + std::to_string(ptr) + ", +" + std::to_string(t.n_bytes) +
                                     ") is outside guest memory of " + std::to_string(memory_->size_bytes()) + " bytes");
  // Guest memory's base is 64 KiB aligned, so the offset's alignment is the address's.
  if (const uint32_t align = dtype_alignment(t.dtype); ptr % align != 0)
    return fail(ApiStatus_arg, "tensor_view: " + std::string(dtype_label(t.dtype)) + " data at " + std::to_string(ptr) +
                                   " is not " + std::to_string(align) + "-byte aligned");
  t.is_view = true;
  t.guest_offset = ptr;
  t.charge = BytesCharge(account_.get(), 0);  // copy-mode staging is added to it
  if (flags & kFlagConst) {
    // Whole pages are write-protected (a guest write traps); a view that is
    // not stays writable to the guest and says so in sp_tensor_info.
    auto p = memory_->protect(t.guest_offset, t.n_bytes, account_->limits().const_ranges);
    if (!p) return fail(ApiStatus_no_memory, "tensor_view: const view refused: " + p.message());
    t.write_protected = p.value() == LinearMemory::Protection::Protection_protected;
  }
  const bool write_protected = t.write_protected;
  const bool unprotected_const = (flags & kFlagConst) && !write_protected;
  const uint64_t offset = t.guest_offset, n_bytes = t.n_bytes;
  const int32_t handle = tensors_.add(std::move(t));
  if (handle == 0) {
    if (write_protected) (void)memory_->unprotect(offset, n_bytes, account_->limits().const_ranges);
    return fail(ApiStatus_no_memory, "tensor_view: too many tensors");
  }
  n_unprotected_const_ += unprotected_const;
  return handle;
}

int32_t HostApi::tensor_alloc(int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags) {
  Tensor t;
  if (int32_t rc = describe_tensor("tensor_alloc", dtype, n_dims, shape_ptr, flags, &t); rc != ApiStatus_ok) return rc;
  t.charge = BytesCharge(account_.get(), t.n_bytes);
  if (!t.charge.ok()) return fail(ApiStatus_no_memory, account_->bytes_refusal("tensor_alloc", t.n_bytes));
  t.storage = allocate_zeroed(t.n_bytes);
  if (!t.storage) return fail(ApiStatus_no_memory, "tensor_alloc: out of memory");
  const int32_t handle = tensors_.add(std::move(t));
  if (handle == 0) return fail(ApiStatus_no_memory, "tensor_alloc: too many tensors");
  return handle;
}

int32_t HostApi::tensor_free(int32_t handle) {
  Tensor* t = tensors_.find(handle);
  if (t == nullptr) return fail(ApiStatus_handle, "tensor_free: " + std::to_string(handle) + " is not a live tensor");
  Status reopened = Status::ok();
  if (t->write_protected) reopened = memory_->unprotect(t->guest_offset, t->n_bytes, account_->limits().const_ranges);
  if (t->is_view && (t->flags & kFlagConst) && !t->write_protected) --n_unprotected_const_;
  if (t->staging) staged_bytes_ -= t->n_bytes;
  tensors_.remove(handle);  // releases its charge
  // The handle is gone either way; pages the kernel would not reopen stay read-only.
  if (!reopened) return fail(ApiStatus_no_memory, "tensor_free: freed, but its pages stay read-only: " + reopened.message());
  return ApiStatus_ok;
}

int32_t HostApi::sync(int32_t handle) {
  if (tensors_.find(handle) == nullptr) return fail(ApiStatus_handle, "sync: not a live tensor");
  if (Status s = backend_->sync(); !s) return fail(ApiStatus_backend, s.message());
  return ApiStatus_ok;
}

void* HostApi::host_address(Tensor& t) {
  if (!t.is_view) return t.storage.get();
  return memory_->base() + t.guest_offset;
}

bool HostApi::overlaps_unprotected_const(uint64_t offset, uint64_t n_bytes) {
  if (n_unprotected_const_ == 0) return false;
  bool found = false;
  tensors_.for_each([&](const Tensor& c) {
    found = found || (c.is_view && (c.flags & kFlagConst) && !c.write_protected && c.guest_offset < offset + n_bytes &&
                      offset < c.guest_offset + c.n_bytes);
  });
  return found;
}

int32_t HostApi::check_not_const(const char* what, uint64_t offset, uint64_t n_bytes) {
  // The host never writes read-only guest pages (const views, file mappings):
  // refusing here keeps kernel threads from faulting on them.
  if (!memory_->is_writable(offset, n_bytes))
    return fail(ApiStatus_arg, std::string(what) + ": the output lies in read-only guest memory");
  // Const views that are not whole pages are not protected: the host still
  // never writes their bytes.
  if (overlaps_unprotected_const(offset, n_bytes))
    return fail(ApiStatus_arg, std::string(what) + ": the output overlaps a const tensor (SP_CONST)");
  return ApiStatus_ok;
}

int32_t HostApi::submit(const OpRequest& request) {
  if (recording_) {
    if (recorded_.size() + n_recorded_ops_ >= kMaxRecordedOps)
      return fail(ApiStatus_no_memory, "record: more than " + std::to_string(kMaxRecordedOps) + " recorded ops");
    // Check handles and shapes now (parameters as 0), so mistakes show where they are made.
    OpRequest probe = request;
    for (int32_t& v : probe.i) if (v <= kParamBase) v = 0;
    Tensor* t[4] = {};
    for (int k = 0; k < request.n_handles; ++k)
      if ((t[k] = tensors_.find(request.handles[k])) == nullptr)
        return fail(ApiStatus_handle, std::string(op_name(request.op)) + ": operand " + std::to_string(k) + " is not a live tensor");
    std::string message;
    if (int32_t rc = validate_op(probe, t, &message); rc != ApiStatus_ok) return fail(rc, message);
    if (!recorded_charge_.add(sizeof(OpRequest)))
      return fail(ApiStatus_no_memory, account_->bytes_refusal("record", sizeof(OpRequest)));
    recorded_.push_back(request);
    return ApiStatus_ok;
  }
  return run(request, {});
}

int32_t HostApi::run(OpRequest req, const std::vector<int32_t>& params) {
  for (int32_t& v : req.i) {
    if (v > kParamBase) continue;
    const int64_t slot = int64_t{kParamBase} - v;
    if (slot >= static_cast<int64_t>(params.size()))
      return fail(ApiStatus_arg, std::string(op_name(req.op)) + ": parameter " + std::to_string(slot) + " was not given");
    v = params[static_cast<size_t>(slot)];
  }
  Tensor* t[4] = {};
  for (int k = 0; k < req.n_handles; ++k)
    if ((t[k] = tensors_.find(req.handles[k])) == nullptr)
      return fail(ApiStatus_handle, std::string(op_name(req.op)) + ": operand " + std::to_string(k) + " (" +
                                        std::to_string(req.handles[k]) + ") is not a live tensor");
  std::string message;
  if (int32_t rc = validate_op(req, t, &message); rc != ApiStatus_ok) return fail(rc, message);
  if (req.op != OpCode_argmax && t[0]->is_view)
    if (int32_t rc = check_not_const(op_name(req.op), t[0]->guest_offset, t[0]->n_bytes); rc != ApiStatus_ok) return rc;

  OpArgs args;
  args.op = req.op;
  args.f[0] = req.f[0];
  args.f[1] = req.f[1];
  args.i[0] = req.i[0];
  args.i[1] = req.i[1];
  const bool copy = mode_ == MemoryMode::MemoryMode_copy;
  for (int k = 0; k < req.n_handles; ++k) {
    Tensor& tensor = *t[k];
    void* data = host_address(tensor);
    if (copy && tensor.is_view) {
      if (!tensor.staging) {
        if (!tensor.charge.add(tensor.n_bytes))
          return fail(ApiStatus_no_memory, account_->bytes_refusal("copy mode: staging", tensor.n_bytes));
        tensor.staging = allocate_zeroed(tensor.n_bytes);
        if (!tensor.staging) return fail(ApiStatus_no_memory, "copy mode: cannot allocate staging");
        staged_bytes_ += tensor.n_bytes;
      }
      std::memcpy(tensor.staging.get(), data, tensor.n_bytes);  // copy in
      data = tensor.staging.get();
    }
    tensor.last_backend_address = data;
    TensorArg& a = args.t[k];
    a.data = data;
    a.dtype = tensor.dtype;
    a.n_dims = tensor.n_dims;
    for (int d = 0; d < 4; ++d) a.shape[d] = tensor.shape[d];
    a.n_bytes = tensor.n_bytes;
  }
  std::vector<int32_t> indices;
  BytesCharge scratch;
  if (req.op == OpCode_argmax) {
    const uint64_t n_rows = static_cast<uint64_t>(args.t[1].n_rows());
    if (context_->guest_memory().writable_range(req.index_out, n_rows * 4) == nullptr)
      return fail(ApiStatus_range, "argmax: the result array is outside writable guest memory");
    if (int32_t rc = check_not_const("argmax", req.index_out, n_rows * 4); rc != ApiStatus_ok) return rc;
    scratch = BytesCharge(account_.get(), n_rows * 4);
    if (!scratch.ok()) return fail(ApiStatus_no_memory, account_->bytes_refusal("argmax: results", n_rows * 4));
    indices.resize(n_rows);
    args.index_out = indices.data();
  }
  if (Status s = backend_->execute(args); !s) return fail(ApiStatus_backend, s.message());
  if (req.op == OpCode_argmax) {
    std::memcpy(context_->guest_memory().writable_range(req.index_out, indices.size() * 4), indices.data(),
                indices.size() * 4);
  } else if (copy && t[0]->is_view) {
    std::memcpy(memory_->base() + t[0]->guest_offset, t[0]->staging.get(), t[0]->n_bytes);  // copy out
  }
  return ApiStatus_ok;
}

int32_t HostApi::record_begin() {
  if (recording_) return fail(ApiStatus_state, "record_begin: already recording");
  if (sequences_.size() >= kMaxSequences) return fail(ApiStatus_no_memory, "record_begin: too many sequences");
  recording_ = true;
  recorded_.clear();
  return ApiStatus_ok;
}

int32_t HostApi::record_end() {
  if (!recording_) return fail(ApiStatus_state, "record_end: not recording");
  recording_ = false;
  n_recorded_ops_ += recorded_.size();
  sequences_.push_back(std::move(recorded_));
  recorded_.clear();
  return static_cast<int32_t>(sequences_.size());
}

int32_t HostApi::replay(int32_t sequence, uint32_t params_ptr, int32_t n_params) {
  if (recording_) return fail(ApiStatus_state, "replay: cannot replay while recording");
  if (sequence <= 0 || static_cast<size_t>(sequence) > sequences_.size())
    return fail(ApiStatus_handle, "replay: " + std::to_string(sequence) + " is not a recorded sequence");
  if (n_params < 0 || n_params > 1024) return fail(ApiStatus_arg, "replay: n_params must be 0 to 1024");
  std::vector<int32_t> params(static_cast<size_t>(n_params));
  if (n_params > 0) {
    const uint8_t* p = context_->guest_memory().range(params_ptr, params.size() * 4);
    if (p == nullptr) return fail(ApiStatus_range, "replay: params are outside guest memory");
    std::memcpy(params.data(), p, params.size() * 4);
  }
  const std::vector<OpRequest>& ops = sequences_[static_cast<size_t>(sequence - 1)];
  for (size_t k = 0; k < ops.size(); ++k) {
    if (int32_t rc = run(ops[k], params); rc != ApiStatus_ok) {
      last_error_ = "replay: op " + std::to_string(k) + ": " + last_error_;
      return rc;
    }
  }
  return ApiStatus_ok;
}

int32_t HostApi::tensor_info(int32_t handle, uint32_t out_ptr) {
  Tensor* t = tensors_.find(handle);
  if (t == nullptr) return fail(ApiStatus_handle, "tensor_info: not a live tensor");
  struct {
    int32_t dtype, n_dims, flags, is_view;
    uint32_t shape[4];
    uint64_t n_bytes;
    int32_t zero_copy, write_protected;
  } info{};
  static_assert(sizeof(info) == 48, "matches sp_tensor_info");
  info.dtype = t->dtype;
  info.n_dims = t->n_dims;
  info.flags = t->flags;
  info.is_view = t->is_view;
  for (int d = 0; d < 4; ++d) info.shape[d] = static_cast<uint32_t>(t->shape[d]);
  info.n_bytes = t->n_bytes;
  info.zero_copy = t->is_view && t->last_backend_address == memory_->base() + t->guest_offset;
  info.write_protected = t->write_protected;
  if (overlaps_unprotected_const(out_ptr, sizeof(info)))
    return fail(ApiStatus_arg, "tensor_info: the output overlaps a const tensor (SP_CONST)");
  if (!context_->guest_memory().store(out_ptr, info)) return fail(ApiStatus_range, "tensor_info: output outside guest memory");
  return ApiStatus_ok;
}

int32_t HostApi::stats(uint32_t out_ptr) {
  const ProcessMemory pm = read_process_memory();
  // Zeros would read as success: a host that cannot read /proc says so.
  if (!pm.read) return fail(ApiStatus_backend, "stats: " + pm.error);
  struct {
    uint64_t rss_bytes, rss_anon_bytes, rss_file_bytes, memory_bytes, staged_bytes;
    int32_t copy_mode, reserved;
  } s{pm.rss_bytes, pm.rss_anon_bytes, pm.rss_file_bytes, memory_ ? memory_->size_bytes() : 0, staged_bytes_,
      mode_ == MemoryMode::MemoryMode_copy, 0};
  static_assert(sizeof(s) == 48, "matches sp_stats");
  if (overlaps_unprotected_const(out_ptr, sizeof(s)))
    return fail(ApiStatus_arg, "stats: the output overlaps a const tensor (SP_CONST)");
  if (!context_->guest_memory().store(out_ptr, s)) return fail(ApiStatus_range, "stats: output outside guest memory");
  return ApiStatus_ok;
}

int32_t HostApi::last_error(uint32_t buf_ptr, int32_t buf_len) {
  if (buf_len <= 0) return static_cast<int32_t>(last_error_.size());
  uint8_t* p = context_->guest_memory().writable_range(buf_ptr, static_cast<uint64_t>(buf_len));
  if (p == nullptr) return ApiStatus_range;
  const size_t n = std::min(last_error_.size(), static_cast<size_t>(buf_len - 1));
  std::memcpy(p, last_error_.data(), n);
  p[n] = 0;
  return static_cast<int32_t>(n);
}

}  // namespace samepage
