// The host API's part of a snapshot (HostApiState): saved between calls,
// restored into a fresh API through the checks a guest's own calls pass.
#include <map>

#include "api/host_api.h"
#include "guest_call/guest_context.h"
#include "samepage/linear_memory.h"

namespace samepage {

Result<HostApiState> HostApi::save_state() {
  const char* where = "api::snapshot";
  if (recording_) return err(where, "a sequence is being recorded: finish it (sp_record_end) before a snapshot");
  if (Status s = backend_->sync(); !s) return err(where, s.message());
  HostApiState state;
  state.n_slots = static_cast<uint32_t>(tensors_.n_slots());
  state.next_sequence = next_sequence_;
  state.free_handles = tensors_.free_handles();
  for (const auto& [id, seq] : sequences_) state.sequences.push_back(id);
  std::map<const TensorStorage*, int32_t> first_handle;  // each storage's lowest handle
  for (size_t h = 1; h <= tensors_.n_slots(); ++h) {
    const Tensor* t = tensors_.find(static_cast<int32_t>(h));
    if (t == nullptr) continue;
    HostApiState::Entry e;
    e.handle = static_cast<int32_t>(h);
    auto [it, first] = first_handle.emplace(t->storage.get(), e.handle);
    if (!first) e.alias_of = it->second;
    e.is_view = t->is_view;
    e.dtype = t->dtype;
    e.n_dims = t->n_dims;
    for (int d = 0; d < 4; ++d) e.shape[d] = t->shape[d];
    e.flags = t->flags;
    e.guest_offset = t->guest_offset;
    e.n_bytes = t->n_bytes;
    if (t->is_view && (t->flags & SP_DEVICE)) {
      // The guest bytes must be current: they are what the snapshot keeps.
      if (Status s = backend_->tensor_sync(t->storage->id); !s) return err(where, s.message());
    }
    if (!t->is_view && e.alias_of == 0) {
      e.bytes.resize(t->n_bytes);
      if (Status s = backend_->tensor_read(tensor_arg(*t), e.bytes.data()); !s)
        return err(where, "tensor " + std::to_string(h) + ": " + s.message());
      e.data = e.bytes.data();
    }
    state.tensors.push_back(std::move(e));
  }
  return state;
}

Status HostApi::restore_state(const HostApiState& state) {
  const char* where = "api::restore";
  if (!sequences_.empty() || recording_) return err(where, "the instance recorded sequences before the restore (start function)");
  if (!tensors_.reset_numbering(state.n_slots, state.free_handles))
    return err(where, "the tensor handles are inconsistent, or the start function made tensors");
  if (state.next_sequence < 1) return err(where, "the next sequence id is out of range");
  for (const HostApiState::Entry& e : state.tensors) {
    const std::string which = "tensor " + std::to_string(e.handle);
    Tensor t;
    if (!dtype_valid(e.dtype) || e.n_dims < 1 || e.n_dims > 4 || e.flags < 0 || e.flags > (SP_CONST | SP_DEVICE))
      return err(where, which + " is malformed");
    t.dtype = static_cast<DType>(e.dtype);
    t.n_dims = e.n_dims;
    for (int d = 0; d < 4; ++d) t.shape[d] = e.shape[d];
    t.flags = e.flags;
    t.n_bytes = tensor_bytes(t.dtype, t.n_dims, t.shape);
    if (t.n_bytes == 0 || t.n_bytes != e.n_bytes) return err(where, which + ": its bytes do not match its shape");
    t.id = next_tensor_id_++;
    if (e.alias_of != 0) {
      // A reshape of an earlier handle: its own shape on the same bytes.
      const Tensor* base = e.alias_of < e.handle ? tensors_.find(e.alias_of) : nullptr;
      if (base == nullptr || base->n_bytes != t.n_bytes || base->dtype != t.dtype || base->flags != t.flags ||
          base->is_view != e.is_view || (e.is_view && base->guest_offset != e.guest_offset))
        return err(where, which + " is an alias of " + std::to_string(e.alias_of) + ", which it does not match");
      t.share_storage_of(*base);
      if (!tensors_.put(e.handle, std::move(t))) return err(where, which + " is not a free handle of the table");
      continue;
    }
    const bool copy = mode_ == MemoryMode::MemoryMode_copy;
    t.storage = std::make_shared<TensorStorage>();
    t.storage->id = t.id;
    if (e.is_view) {
      if (memory_ == nullptr || e.guest_offset > memory_->size_bytes() || t.n_bytes > memory_->size_bytes() - e.guest_offset)
        return err(where, which + " views bytes outside guest memory");
      if (e.guest_offset % dtype_alignment(t.dtype) != 0) return err(where, which + " is misaligned");
      t.is_view = true;
      t.guest_offset = e.guest_offset;
      t.storage->charge = BytesCharge(account_.get(), view_charge_bytes(t.n_bytes));
      if (!t.storage->charge.ok()) return err(where, account_->bytes_refusal(which, t.n_bytes));
      if (Status s = protect_view(&t); !s) return err(where, which + ": " + s.message());
    } else {
      if (e.data == nullptr) return err(where, which + " has no bytes");
      t.storage->charge = BytesCharge(account_.get(), t.n_bytes);
      if (!t.storage->charge.ok()) return err(where, account_->bytes_refusal(which, t.n_bytes));
    }
    const bool write_protected = t.write_protected, unprotected_const = t.is_view && (t.flags & SP_CONST) && !write_protected;
    const uint64_t offset = t.guest_offset, n_bytes = t.n_bytes;
    if (int32_t rc = create_in_backend("restore", &t); rc != SP_OK) {
      if (write_protected) (void)memory_->unprotect(offset, n_bytes, account_->limits().const_ranges);
      return err(where, which + ": " + last_error_);
    }
    if (!t.is_view) {
      if (Status s = backend_->tensor_write(tensor_arg(t), e.data); !s) {
          backend_->tensor_release(t.storage->id);
        return err(where, which + ": " + s.message());
      }
    }
    const uint64_t id = t.id;
    if (!tensors_.put(e.handle, std::move(t))) {
      backend_->tensor_release(id);
      if (write_protected) (void)memory_->unprotect(offset, n_bytes, account_->limits().const_ranges);
      return err(where, which + " is not a free handle of the table");
    }
    n_unprotected_const_ += unprotected_const;
    if (copy && e.is_view) staged_bytes_ += n_bytes;
  }
  // Recordings hold backend forms (CUDA graphs) that do not travel: each
  // comes back by id as a sequence to record again.
  for (int32_t id : state.sequences) {
    if (id < 1 || id >= state.next_sequence) return err(where, "sequence " + std::to_string(id) + " is out of range");
    Sequence dropped;
    dropped.broken = "sequence " + std::to_string(id) +
                     " was recorded before this guest was restored from a snapshot: record it again";
    sequences_.emplace(id, std::move(dropped));
  }
  next_sequence_ = state.next_sequence;
  return Status::ok();
}

}  // namespace samepage
