#include "runtime/snapshot_api_state.h"

#include <cstring>

namespace samepage {

void api_state_to_image(const HostApiState& state, SnapshotImage* image) {
  image->api.present = true;
  image->api.n_slots = state.n_slots;
  image->api.next_sequence = static_cast<uint32_t>(state.next_sequence);
  image->api.free_handles = state.free_handles;
  image->api.sequences = state.sequences;
  for (const HostApiState::Recorded& rec : state.recorded) {
    SnapshotSequence seq;
    seq.id = rec.id;
    for (const OpRequest& req : rec.ops) {
      SnapshotOp op;
      op.op = static_cast<uint32_t>(req.op);
      op.n_handles = static_cast<uint32_t>(req.n_handles);
      for (int k = 0; k < 4; ++k) op.handles[k] = req.handles[k];
      std::memcpy(op.f_bits, req.f, sizeof op.f_bits);
      for (int k = 0; k < 2; ++k) op.i[k] = req.i[k];
      seq.ops.push_back(op);
    }
    image->recorded.push_back(std::move(seq));
  }
  for (const HostApiState::Entry& e : state.tensors) {
    SnapshotTensor t;
    t.handle = e.handle;
    t.alias_of = e.alias_of;
    t.is_view = e.is_view;
    t.dtype = e.dtype;
    t.n_dims = e.n_dims;
    for (int d = 0; d < 4; ++d) t.shape[d] = e.shape[d];
    t.flags = e.flags;
    t.guest_offset = e.guest_offset;
    t.n_bytes = e.n_bytes;
    t.bytes = e.data;
    t.read = e.read;
    image->api.tensors.push_back(std::move(t));
  }
}

HostApiState api_state_from_image(const SnapshotImage& image) {
  HostApiState state;
  state.n_slots = image.api.n_slots;
  state.next_sequence = static_cast<int32_t>(image.api.next_sequence);
  state.free_handles = image.api.free_handles;
  state.sequences = image.api.sequences;
  for (const SnapshotSequence& seq : image.recorded) {
    HostApiState::Recorded rec;
    rec.id = seq.id;
    for (const SnapshotOp& op : seq.ops) {
      OpRequest req;
      req.op = static_cast<OpCode>(op.op);
      req.n_handles = static_cast<int>(op.n_handles);
      for (int k = 0; k < 4; ++k) req.handles[k] = op.handles[k];
      std::memcpy(req.f, op.f_bits, sizeof req.f);
      for (int k = 0; k < 2; ++k) req.i[k] = op.i[k];
      rec.ops.push_back(req);
    }
    state.recorded.push_back(std::move(rec));
  }
  for (const SnapshotTensor& t : image.api.tensors) {
    HostApiState::Entry e;
    e.handle = t.handle;
    e.alias_of = t.alias_of;
    e.is_view = t.is_view;
    e.dtype = t.dtype;
    e.n_dims = t.n_dims;
    for (int d = 0; d < 4; ++d) e.shape[d] = t.shape[d];
    e.flags = t.flags;
    e.guest_offset = t.guest_offset;
    e.n_bytes = t.n_bytes;
    e.data = t.bytes;
    state.tensors.push_back(std::move(e));
  }
  return state;
}

}  // namespace samepage
