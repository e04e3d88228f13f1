// The host API's part of a snapshot (HostApiState): saved between calls,
// restored into a fresh API through the checks a guest's own calls pass.
#include <cmath>
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
  for (const auto& [id, seq] : sequences_) {
    state.sequences.push_back(id);
    if (!seq.broken.empty()) continue;  // a freed tensor broke it: it comes back broken
    HostApiState::Recorded rec;
    rec.id = id;
    for (const Sequence::Op& op : seq.ops) rec.ops.push_back(op.request);
    state.recorded.push_back(std::move(rec));
  }
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
      Backend* backend = backend_.get();
      e.read = [backend, arg = tensor_arg(*t), h](uint64_t offset, uint64_t n, void* out) {
        if (Status s = backend->tensor_read_range(arg, offset, n, out); !s)
          return err("api::snapshot", "tensor " + std::to_string(h) + ": " + s.message());
        return Status::ok();
      };
    }
    state.tensors.push_back(std::move(e));
  }
  return state;
}

Status HostApiState::read_tensor_bytes() {
  for (Entry& e : tensors) {
    if (e.data != nullptr || !e.read) continue;
    e.bytes.resize(e.n_bytes);
    if (Status s = e.read(0, e.n_bytes, e.bytes.data()); !s) return s;
    e.data = e.bytes.data();
  }
  return Status::ok();
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
  // Recordings hold backend forms (CUDA graphs) that do not travel: the
  // live ones are recorded again here, op by op through the checks a
  // guest's own calls pass (the file is untrusted), under their saved ids;
  // the rest come back by id as sequences to record again.
  auto recorded = state.recorded.begin();
  for (int32_t id : state.sequences) {
    if (id < 1 || id >= state.next_sequence) return err(where, "sequence " + std::to_string(id) + " is out of range");
    if (sequences_.count(id) != 0) return err(where, "sequence " + std::to_string(id) + " is repeated");
    if (recorded != state.recorded.end() && recorded->id == id) {
      if (Status s = record_again(id, recorded->ops); !s) return s;
      ++recorded;
      continue;
    }
    Sequence dropped;
    dropped.broken = "sequence " + std::to_string(id) +
                     " was recorded before this guest was restored from a snapshot: record it again";
    sequences_.emplace(id, std::move(dropped));
  }
  if (recorded != state.recorded.end())
    return err(where, "recorded sequence " + std::to_string(recorded->id) + " is not among the sequences, or out of order");
  next_sequence_ = state.next_sequence;
  return Status::ok();
}

namespace {

// What each op takes, as the sp_* entry points submit it: operand counts
// (rope: 2, or 3 with frequency factors), and which scalars it reads (the
// others are always zero). A saved op of another form is refused before
// the checks that assume the entry points' forms see it.
struct OpForm {
  int min_handles, max_handles, n_f, n_i;
};
OpForm op_form(OpCode op) {
  switch (op) {
    case OpCode_matmul: return {3, 3, 0, 0};
    case OpCode_rmsnorm: return {3, 3, 1, 0};
    case OpCode_rope: return {2, 3, 2, 2};
    case OpCode_attention: return {4, 4, 0, 1};
    case OpCode_silu_mul: return {3, 3, 0, 0};
    case OpCode_add: return {3, 3, 0, 0};
    case OpCode_scale: return {2, 2, 1, 0};
    case OpCode_embedding: return {3, 3, 0, 0};
    case OpCode_softmax: return {2, 2, 0, 0};
    case OpCode_argmax: return {2, 2, 0, 0};
    case OpCode_copy: return {2, 2, 0, 0};
    case OpCode_set_rows: return {2, 2, 0, 1};
    case OpCode_get_rows: return {2, 2, 0, 1};
    case OpCode_count: break;
  }
  return {0, -1, 0, 0};
}

}  // namespace

Status HostApi::record_again(int32_t id, const std::vector<OpRequest>& ops) {
  const std::string which = "sequence " + std::to_string(id);
  if (ops.empty()) return err("api::restore", which + " has no ops");
  if (int32_t rc = record_begin(); rc != SP_OK) return err("api::restore", which + ": " + last_error_);
  for (size_t k = 0; k < ops.size(); ++k) {
    const OpRequest& req = ops[k];
    const OpForm form = req.op >= 0 && req.op < OpCode_count ? op_form(req.op) : op_form(OpCode_count);
    bool ok = req.n_handles >= form.min_handles && req.n_handles <= form.max_handles;
    for (int j = req.n_handles; ok && j < 4; ++j) ok = req.handles[j] == 0;
    for (int j = form.n_f; ok && j < 2; ++j) ok = req.f[j] == 0.0f && !std::signbit(req.f[j]);
    for (int j = form.n_i; ok && j < 2; ++j) ok = req.i[j] == 0;
    int32_t rc = ok ? submit(req) : SP_ERR_ARG;
    if (!ok) last_error_ = "not an op as the sp_* calls make it (operands or scalars)";
    if (rc != SP_OK) {
      recording_ = false;
      recording_sequence_ = Sequence{};
      return err("api::restore", which + " op " + std::to_string(k) + ": " + last_error_);
    }
  }
  // record_end hands out next_sequence_: the saved id, restored after.
  next_sequence_ = id;
  const int32_t handle = record_end();
  if (handle != id) return err("api::restore", which + ": " + (handle < 0 ? last_error_ : "got another id"));
  return Status::ok();
}

}  // namespace samepage
