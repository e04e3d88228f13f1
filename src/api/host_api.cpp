#include "api/host_api.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "backends/copy_mode_backend.h"
#include "guest_call/guest_context.h"
#include "samepage/linear_memory.h"

namespace samepage {
namespace {

Residency residency_of(const Tensor& t, bool file_mapped) {
  if (!t.is_view) return Residency_device;
  if (file_mapped) return Residency_file_mapped;
  if (t.flags & SP_CONST) return Residency_const;
  return (t.flags & SP_DEVICE) ? Residency_device : Residency_shared;
}

}  // namespace

HostApi::HostApi(std::unique_ptr<Backend> backend, MemoryMode mode, std::shared_ptr<GuestAccount> account)
    : account_(account ? std::move(account) : std::make_shared<GuestAccount>()),
      backend_(std::move(backend)),
      mode_(mode) {}
HostApi::~HostApi() {
  // The backend goes before the memory (Instance's order): it hears of the
  // release now, and no event reaches it after.
  sequences_.clear();  // compiled sequences name tensors: they go first
  recording_sequence_ = Sequence{};
  // Each storage once, however many handles (reshaped aliases) share it.
  std::set<uint64_t> released;
  tensors_.for_each([&](const Tensor& t) {
    if (released.insert(t.storage->id).second) backend_->tensor_release(t.storage->id);
  });
  if (memory_ != nullptr) {
    memory_->remove_event_listener(memory_listener_);
    backend_->memory_event({MemoryEventKind::MemoryEvent_release, 0, memory_->reserved_bytes()});
  }
}

void HostApi::attach(GuestContext* context, LinearMemory* memory) {
  if (context_ != nullptr) return;  // once: the memory never changes after
  context_ = context;
  memory_ = memory;
  if (memory_ != nullptr && mode_ == MemoryMode::MemoryMode_shared) {
    // The backend may address guest memory in place; if it cannot, use copies.
    if (!backend_->use_host_memory(memory_->base(), memory_->size_bytes()))
      mode_ = MemoryMode::MemoryMode_copy;
  }
  if (mode_ == MemoryMode::MemoryMode_copy) backend_ = make_copy_mode_backend(std::move(backend_));
  if (memory_ != nullptr) {
    // What is committed already, then every change as it happens.
    backend_->memory_event({MemoryEventKind::MemoryEvent_grow, 0, memory_->size_bytes()});
    memory_listener_ = memory_->add_event_listener([this](const MemoryEvent& e) { backend_->memory_event(e); });
  }
}

int32_t HostApi::create_in_backend(const char* what, Tensor* t) {
  TensorDesc desc;
  desc.id = t->storage->id;
  desc.dtype = t->dtype;
  desc.n_dims = t->n_dims;
  for (int d = 0; d < 4; ++d) desc.shape[d] = t->shape[d];
  desc.n_bytes = t->n_bytes;
  desc.residency = residency_of(*t, t->file_mapped);
  desc.guest_data = t->is_view ? memory_->base() + t->guest_offset : nullptr;
  if (const FileMapping* m = t->is_view && t->file_mapped ? mapping_of(*t) : nullptr) {
    desc.file = m->file;
    desc.file_offset = m->file_offset + (t->guest_offset - m->guest_offset);
  }
  Result<void*> at = backend_->tensor_create(desc);
  if (!at) return fail(SP_ERR_NO_MEMORY, std::string(what) + ": " + at.message());
  t->backend_data = *at;
  return SP_OK;
}

TensorArg HostApi::tensor_arg(const Tensor& t) {
  TensorArg a;
  a.data = t.backend_data;
  a.dtype = t.dtype;
  a.n_dims = t.n_dims;
  for (int d = 0; d < 4; ++d) a.shape[d] = t.shape[d];
  a.n_bytes = t.n_bytes;
  a.id = t.storage->id;  // aliases share their storage's identity: one buffer in the backend
  return a;
}

int32_t HostApi::fail(int32_t code, std::string message) {
  last_error_ = std::move(message);
  return code;
}

int32_t HostApi::read_shape(int32_t n_dims, uint32_t shape_ptr, int64_t shape[4]) {
  if (n_dims < 1 || n_dims > 4) return fail(SP_ERR_ARG, "n_dims must be 1 to 4, got " + std::to_string(n_dims));
  GuestMemory mem = context_->guest_memory();
  for (int i = 0; i < n_dims; ++i) {
    uint32_t dim = 0;
    if (!mem.load(uint64_t{shape_ptr} + 4u * i, &dim)) return fail(SP_ERR_RANGE, "shape pointer is outside guest memory");
    if (dim == 0) return fail(SP_ERR_SHAPE, "dimension " + std::to_string(i) + " is 0");
    shape[i] = dim;
  }
  return SP_OK;
}

int32_t HostApi::describe_tensor(const char* what, int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags,
                                 Tensor* t) {
  const std::string where(what);
  if (!dtype_valid(dtype)) return fail(SP_ERR_DTYPE, where + ": unknown dtype " + std::to_string(dtype));
  if (flags < 0 || flags > (SP_CONST | SP_DEVICE))
    return fail(SP_ERR_ARG, where + ": unknown flags " + std::to_string(flags));
  t->dtype = static_cast<DType>(dtype);
  t->n_dims = n_dims;
  t->flags = flags;
  if (int32_t rc = read_shape(n_dims, shape_ptr, t->shape); rc != SP_OK) return rc;
  t->n_bytes = tensor_bytes(t->dtype, n_dims, t->shape);
  if (t->n_bytes == 0)
    return fail(SP_ERR_SHAPE, where + ": shape does not fit " + dtype_name(t->dtype) +
                                     " (rows of quant types must be multiples of 32)");
  return SP_OK;
}

uint64_t HostApi::view_charge_bytes(uint64_t n_bytes) const {
  // A view costs the host nothing in shared mode on host memory; copy mode
  // stages it, and a backend with memory of its own (CUDA) may keep a copy of
  // it there (const uploads, input mirrors): both count against the guest.
  const bool copied = mode_ == MemoryMode::MemoryMode_copy || backend_->caps().device_memory;
  return copied ? n_bytes : 0;
}

Status HostApi::protect_view(Tensor* t) {
  if (t->flags & SP_CONST) {
    // Whole pages are write-protected (a guest write traps); a view that is
    // not stays writable to the guest and says so in sp_tensor_info.
    auto p = memory_->protect(t->guest_offset, t->n_bytes, account_->limits().const_ranges);
    if (!p) return Status::error("const view refused: " + p.message());
    t->write_protected = p.value() == LinearMemory::Protection::Protection_protected;
    t->file_mapped = p.value() == LinearMemory::Protection::Protection_file_mapped;
    protection_epoch_ += t->write_protected;
  }
  // A view inside a file mapping is file-backed whatever its flags.
  t->file_mapped = t->file_mapped || mapping_of(*t) != nullptr;
  return Status::ok();
}

const FileMapping* HostApi::mapping_of(const Tensor& t) const {
  for (const FileMapping& m : memory_->file_mappings())
    if (t.guest_offset >= m.guest_offset && t.guest_offset + t.n_bytes <= m.guest_offset + m.n_mapped_bytes) return &m;
  return nullptr;
}

int32_t HostApi::tensor_view(uint32_t ptr, int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags) {
  if (memory_ == nullptr) return fail(SP_ERR_STATE, "tensor_view: this guest has no memory");
  Tensor t;
  if (int32_t rc = describe_tensor("tensor_view", dtype, n_dims, shape_ptr, flags, &t); rc != SP_OK) return rc;
  if (context_->guest_memory().range(ptr, t.n_bytes) == nullptr)
    return fail(SP_ERR_RANGE, "tensor_view: [" + std::to_string(ptr) + ", +" + std::to_string(t.n_bytes) +
                                     ") is outside guest memory of " + std::to_string(memory_->size_bytes()) + " bytes");
  // Guest memory's base is 64 KiB aligned, so the offset's alignment is the address's.
  if (const uint32_t align = dtype_alignment(t.dtype); ptr % align != 0)
    return fail(SP_ERR_ARG, "tensor_view: " + std::string(dtype_name(t.dtype)) + " data at " + std::to_string(ptr) +
                                   " is not " + std::to_string(align) + "-byte aligned");
  t.is_view = true;
  t.id = next_tensor_id_++;
  t.guest_offset = ptr;
  t.storage = std::make_shared<TensorStorage>();
  t.storage->id = t.id;
  t.storage->charge = BytesCharge(account_.get(), view_charge_bytes(t.n_bytes));
  if (!t.storage->charge.ok())
    return fail(SP_ERR_NO_MEMORY, account_->bytes_refusal("tensor_view: copy-mode staging or the backend's device copy", t.n_bytes));
  if (Status s = protect_view(&t); !s) return fail(SP_ERR_NO_MEMORY, "tensor_view: " + s.message());
  const bool write_protected = t.write_protected;
  const bool unprotected_const = (flags & SP_CONST) && !write_protected;
  const uint64_t offset = t.guest_offset, n_bytes = t.n_bytes, id = t.id;
  int32_t rc = create_in_backend("tensor_view", &t);
  const int32_t handle = rc == SP_OK ? tensors_.add(std::move(t)) : 0;
  if (handle == 0) {
    if (rc == SP_OK) backend_->tensor_release(id);
    if (write_protected) (void)memory_->unprotect(offset, n_bytes, account_->limits().const_ranges);
    return rc == SP_OK ? fail(SP_ERR_NO_MEMORY, "tensor_view: too many tensors") : rc;
  }
  n_unprotected_const_ += unprotected_const;
  if (mode_ == MemoryMode::MemoryMode_copy) staged_bytes_ += n_bytes;
  return handle;
}

int32_t HostApi::tensor_alloc(int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags) {
  Tensor t;
  if (int32_t rc = describe_tensor("tensor_alloc", dtype, n_dims, shape_ptr, flags, &t); rc != SP_OK) return rc;
  t.id = next_tensor_id_++;
  t.storage = std::make_shared<TensorStorage>();
  t.storage->id = t.id;
  t.storage->charge = BytesCharge(account_.get(), t.n_bytes);
  if (!t.storage->charge.ok()) return fail(SP_ERR_NO_MEMORY, account_->bytes_refusal("tensor_alloc", t.n_bytes));
  if (int32_t rc = create_in_backend("tensor_alloc", &t); rc != SP_OK) return rc;  // zeroed, the backend's
  const uint64_t id = t.id;
  const int32_t handle = tensors_.add(std::move(t));
  if (handle == 0) {
    backend_->tensor_release(id);
    return fail(SP_ERR_NO_MEMORY, "tensor_alloc: too many tensors");
  }
  return handle;
}

int32_t HostApi::tensor_free(int32_t handle) {
  Tensor* t = tensors_.find(handle);
  if (t == nullptr) return fail(SP_ERR_HANDLE, "tensor_free: " + std::to_string(handle) + " is not a live tensor");
  invalidate_sequences(*t, handle);
  // Other handles (reshaped aliases) on the same bytes keep them, their
  // protection and their charge; the last one releases all of it.
  Status reopened = Status::ok();
  if (t->storage.use_count() == 1) {
    if (t->write_protected) reopened = memory_->unprotect(t->guest_offset, t->n_bytes, account_->limits().const_ranges);
    if (t->is_view && (t->flags & SP_CONST) && !t->write_protected) --n_unprotected_const_;
    if (t->is_view && mode_ == MemoryMode::MemoryMode_copy) staged_bytes_ -= t->n_bytes;
    backend_->tensor_release(t->storage->id);
  }
  tensors_.remove(handle);  // releases its charge with the last handle
  // The handle is gone either way; pages the kernel would not reopen stay read-only.
  if (!reopened) return fail(SP_ERR_NO_MEMORY, "tensor_free: freed, but its pages stay read-only: " + reopened.message());
  return SP_OK;
}

int32_t HostApi::tensor_reshape(int32_t handle, int32_t n_dims, uint32_t shape_ptr) {
  const Tensor* base = tensors_.find(handle);
  if (base == nullptr) return fail(SP_ERR_HANDLE, "tensor_reshape: " + std::to_string(handle) + " is not a live tensor");
  Tensor t;
  if (int32_t rc = describe_tensor("tensor_reshape", base->dtype, n_dims, shape_ptr, base->flags, &t); rc != SP_OK)
    return rc;
  // Equal bytes, not only equal counts: quant rows must stay whole blocks.
  int64_t n_base = 1, n_new = 1;
  for (int d = 0; d < base->n_dims; ++d) n_base *= base->shape[d];
  for (int d = 0; d < t.n_dims; ++d) n_new *= t.shape[d];
  if (n_new != n_base || t.n_bytes != base->n_bytes)
    return fail(SP_ERR_SHAPE, "tensor_reshape: " + std::to_string(n_new) + " elements (" + std::to_string(t.n_bytes) +
                                  " bytes) for a tensor of " + std::to_string(n_base) + " (" +
                                  std::to_string(base->n_bytes) + " bytes)");
  t.id = next_tensor_id_++;  // a handle of its own (sequences name it), on the same storage
  t.share_storage_of(*base);
  const int32_t alias = tensors_.add(std::move(t));
  if (alias == 0) return fail(SP_ERR_NO_MEMORY, "tensor_reshape: too many tensors");
  return alias;
}

int32_t HostApi::sync(int32_t handle) {
  Tensor* t = tensors_.find(handle);
  if (t == nullptr) return fail(SP_ERR_HANDLE, "sync: not a live tensor");
  if (Status s = backend_->sync(); !s) return fail(SP_ERR_BACKEND, s.message());
  if (Status s = backend_->tensor_sync(t->storage->id); !s) return fail(SP_ERR_BACKEND, s.message());
  return SP_OK;
}

bool HostApi::overlaps_unprotected_const(uint64_t offset, uint64_t n_bytes) {
  if (n_unprotected_const_ == 0) return false;
  bool found = false;
  tensors_.for_each([&](const Tensor& c) {
    found = found || (c.is_view && (c.flags & SP_CONST) && !c.write_protected && c.guest_offset < offset + n_bytes &&
                      offset < c.guest_offset + c.n_bytes);
  });
  return found;
}

int32_t HostApi::check_not_const(const char* what, uint64_t offset, uint64_t n_bytes) {
  // The host never writes read-only guest pages (const views, file mappings):
  // refusing here keeps kernel threads from faulting on them.
  if (!memory_->is_writable(offset, n_bytes))
    return fail(SP_ERR_ARG, std::string(what) + ": the output lies in read-only guest memory");
  // Const views that are not whole pages are not protected: the host still
  // never writes their bytes.
  if (overlaps_unprotected_const(offset, n_bytes))
    return fail(SP_ERR_ARG, std::string(what) + ": the output overlaps a const tensor (SP_CONST)");
  return SP_OK;
}

int32_t HostApi::resolve(const OpRequest& req, Tensor* t[4]) {
  for (int k = 0; k < req.n_handles; ++k)
    if ((t[k] = tensors_.find(req.handles[k])) == nullptr)
      return fail(SP_ERR_HANDLE, std::string(op_name(req.op)) + ": operand " + std::to_string(k) + " (" +
                                     std::to_string(req.handles[k]) + ") is not a live tensor");
  return SP_OK;
}

int32_t HostApi::check_output(const OpRequest& req, Tensor* const t[4]) {
  if (!t[0]->is_view) return SP_OK;
  return check_not_const(op_name(req.op), t[0]->guest_offset, t[0]->n_bytes);
}

int32_t HostApi::run(const OpRequest& req) {
  Tensor* t[4] = {};
  if (int32_t rc = resolve(req, t); rc != SP_OK) return rc;
  for (int32_t v : req.i)
    if (v <= SP_PARAM_BASE) return fail(SP_ERR_ARG, std::string(op_name(req.op)) + ": SP_PARAM outside a recording");
  std::string message;
  if (int32_t rc = validate_op(req, t, &message); rc != SP_OK) return fail(rc, message);
  if (int32_t rc = check_output(req, t); rc != SP_OK) return rc;
  return dispatch(req, t);
}

int32_t HostApi::dispatch(const OpRequest& req, Tensor* const t[4]) {
  OpArgs args;
  args.op = req.op;
  args.f[0] = req.f[0];
  args.f[1] = req.f[1];
  args.i[0] = req.i[0];
  args.i[1] = req.i[1];
  for (int k = 0; k < req.n_handles; ++k) {
    args.t[k] = tensor_arg(*t[k]);
    t[k]->touched = true;
  }
  if (Status s = backend_->execute(args); !s) return fail(SP_ERR_BACKEND, s.message());
  return SP_OK;
}

int32_t HostApi::tensor_info(int32_t handle, uint32_t out_ptr) {
  Tensor* t = tensors_.find(handle);
  if (t == nullptr) return fail(SP_ERR_HANDLE, "tensor_info: not a live tensor");
  sp_tensor_info info{};
  info.dtype = t->dtype;
  info.n_dims = t->n_dims;
  info.flags = t->flags;
  info.is_view = t->is_view;
  for (int d = 0; d < 4; ++d) info.shape[d] = static_cast<uint32_t>(t->shape[d]);
  info.n_bytes = t->n_bytes;
  info.zero_copy = t->is_view && t->touched && t->backend_data == memory_->base() + t->guest_offset;
  info.write_protected = t->write_protected;
  if (overlaps_unprotected_const(out_ptr, sizeof(info)))
    return fail(SP_ERR_ARG, "tensor_info: the output overlaps a const tensor (SP_CONST)");
  if (!context_->guest_memory().store(out_ptr, info)) return fail(SP_ERR_RANGE, "tensor_info: output outside guest memory");
  return SP_OK;
}

int32_t HostApi::stats(uint32_t out_ptr) {
  const ProcessMemory pm = read_process_memory();
  // Zeros would read as success: a host that cannot read /proc says so.
  if (!pm.read) return fail(SP_ERR_BACKEND, "stats: " + pm.error);
  sp_stats s{};
  s.rss_bytes = pm.rss_bytes;
  s.rss_anon_bytes = pm.rss_anon_bytes;
  s.rss_file_bytes = pm.rss_file_bytes;
  s.memory_bytes = memory_ ? memory_->size_bytes() : 0;
  s.staged_bytes = staged_bytes_;
  s.copy_mode = mode_ == MemoryMode::MemoryMode_copy;
  if (overlaps_unprotected_const(out_ptr, sizeof(s)))
    return fail(SP_ERR_ARG, "stats: the output overlaps a const tensor (SP_CONST)");
  if (!context_->guest_memory().store(out_ptr, s)) return fail(SP_ERR_RANGE, "stats: output outside guest memory");
  return SP_OK;
}

int32_t HostApi::last_error(uint32_t buf_ptr, int32_t buf_len) {
  if (buf_len <= 0) return static_cast<int32_t>(last_error_.size());
  uint8_t* p = context_->guest_memory().writable_range(buf_ptr, static_cast<uint64_t>(buf_len));
  if (p == nullptr) return SP_ERR_RANGE;
  const size_t n = std::min(last_error_.size(), static_cast<size_t>(buf_len - 1));
  std::memcpy(p, last_error_.data(), n);
  p[n] = 0;
  return static_cast<int32_t>(n);
}

}  // namespace samepage
