// Writes a SnapshotImage in the layout of snapshot_format.h. Section sizes
// are computed first, so the header states the content length and the bytes
// stream straight from guest memory (and runtime tensors from their
// backend, a piece at a time) with the checksum taken on the way.
#include <algorithm>
#include <cstring>

#include "engine/sha256.h"
#include "snapshot/snapshot_format.h"

namespace samepage {
namespace {

// Appends little-endian fields to a small buffer (headers, records).
struct Fields {
  std::vector<uint8_t> bytes;
  void u8(uint8_t v) { bytes.push_back(v); }
  void u32(uint32_t v) { for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i))); }
  void u64(uint64_t v) { for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i))); }
  void raw(const void* p, size_t n) { bytes.insert(bytes.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n); }
  void str(const std::string& s) { u32(static_cast<uint32_t>(s.size())); raw(s.data(), s.size()); }
};

// The sink with the running checksum in front of it.
struct Out {
  const SnapshotSink& sink;
  Sha256 sha;
  Status put(const void* p, size_t n) {
    if (n == 0) return Status::ok();
    sha.update(p, n);
    return sink(p, n);
  }
  Status put(const Fields& f) { return put(f.bytes.data(), f.bytes.size()); }
};

constexpr uint64_t kTensorRecordBytes = 64;  // tensor_fields()

// A runtime tensor's bytes: from memory, or from its reader in pieces of at
// most kTensorPieceBytes through one buffer, so a save holds no host copy of
// a tensor that lives elsewhere (HBM).
constexpr uint64_t kTensorPieceBytes = uint64_t(8) << 20;
Status put_tensor_bytes(Out& out, const SnapshotTensor& t, std::vector<uint8_t>* buffer) {
  if (t.bytes != nullptr) return out.put(t.bytes, t.n_bytes);
  if (!t.read) return err("snapshot::write", "tensor " + std::to_string(t.handle) + " has no bytes to write");
  buffer->resize(static_cast<size_t>(std::min(t.n_bytes, kTensorPieceBytes)));
  for (uint64_t at = 0; at < t.n_bytes; at += kTensorPieceBytes) {
    const uint64_t n = std::min(kTensorPieceBytes, t.n_bytes - at);
    if (Status s = t.read(at, n, buffer->data()); !s) return s;
    if (Status s = out.put(buffer->data(), static_cast<size_t>(n)); !s) return s;
  }
  return Status::ok();
}

uint64_t memory_bytes(const SnapshotImage& image) {
  uint64_t n = 16;
  for (const SnapshotChunk& c : image.chunks) n += 16 + c.n_bytes;
  return n;
}

Fields mapping_fields(const SnapshotImage& image) {
  Fields f;
  f.u32(static_cast<uint32_t>(image.mappings.size()));
  for (const SnapshotMapping& m : image.mappings) {
    f.u64(m.guest_offset);
    f.u64(m.n_bytes);
    f.u64(m.file_offset);
    f.raw(m.sha256.data(), m.sha256.size());
    f.str(m.preopen);
    f.str(m.path);
  }
  return f;
}

Fields global_fields(const SnapshotImage& image) {
  Fields f;
  f.u32(static_cast<uint32_t>(image.globals.size()));
  for (const SnapshotGlobal& g : image.globals) {
    f.u32(g.index);
    f.u8(static_cast<uint8_t>(g.type));
    f.u8(0); f.u8(0); f.u8(0);
    f.u64(g.bits);
  }
  return f;
}

Fields table_fields(const SnapshotImage& image) {
  Fields f;
  f.u32(static_cast<uint32_t>(image.tables.size()));
  for (const SnapshotTable& t : image.tables) {
    f.u8(static_cast<uint8_t>(t.elem_type));
    f.u8(0); f.u8(0); f.u8(0);
    f.u32(static_cast<uint32_t>(t.entries.size()));
    for (uint32_t e : t.entries) f.u32(e);
  }
  return f;
}

// The host API's fields, without runtime tensors' bytes (streamed after each record).
uint64_t api_bytes(const SnapshotHostApi& api, Fields* head) {
  head->u32(api.present ? 1 : 0);
  head->u32(api.n_slots);
  head->u32(api.next_sequence);
  head->u32(static_cast<uint32_t>(api.free_handles.size()));
  for (int32_t h : api.free_handles) head->u32(static_cast<uint32_t>(h));
  head->u32(static_cast<uint32_t>(api.sequences.size()));
  for (int32_t s : api.sequences) head->u32(static_cast<uint32_t>(s));
  head->u32(static_cast<uint32_t>(api.tensors.size()));
  uint64_t n = head->bytes.size();
  for (const SnapshotTensor& t : api.tensors) n += kTensorRecordBytes + (t.is_view || t.alias_of != 0 ? 0 : t.n_bytes);
  return n;
}

Fields tensor_fields(const SnapshotTensor& t) {
  Fields f;
  f.u32(static_cast<uint32_t>(t.handle));
  f.u32(static_cast<uint32_t>(t.alias_of));
  f.u8(t.is_view ? 1 : 0);
  f.u8(static_cast<uint8_t>(t.dtype));
  f.u8(static_cast<uint8_t>(t.n_dims));
  f.u8(0);
  f.u32(static_cast<uint32_t>(t.flags));
  for (int d = 0; d < 4; ++d) f.u64(static_cast<uint64_t>(t.shape[d]));
  f.u64(t.guest_offset);
  f.u64(t.n_bytes);
  return f;
}

Fields sequence_fields(const SnapshotImage& image) {
  Fields f;
  f.u32(static_cast<uint32_t>(image.recorded.size()));
  for (const SnapshotSequence& seq : image.recorded) {
    f.u32(static_cast<uint32_t>(seq.id));
    f.u32(static_cast<uint32_t>(seq.ops.size()));
    for (const SnapshotOp& op : seq.ops) {
      f.u32(op.op);
      f.u32(op.n_handles);
      for (int32_t h : op.handles) f.u32(static_cast<uint32_t>(h));
      for (uint32_t b : op.f_bits) f.u32(b);
      for (int32_t v : op.i) f.u32(static_cast<uint32_t>(v));
    }
  }
  return f;
}

Fields section_header(SnapshotSection id, uint64_t n_bytes) {
  Fields f;
  f.u32(id);
  f.u32(0);
  f.u64(n_bytes);
  return f;
}

}  // namespace

Status write_snapshot(const SnapshotImage& image, const SnapshotSink& sink) {
  if (image.module_sha256.size() != 64) return err("snapshot::write", "the module hash must be 64 hex digits");
  const Fields mappings = mapping_fields(image), globals = global_fields(image), tables = table_fields(image),
               sequences = sequence_fields(image);
  Fields api_head;
  const uint64_t api_n = api_bytes(image.api, &api_head);
  const uint64_t content = 6 * 16 + memory_bytes(image) + mappings.bytes.size() + globals.bytes.size() +
                           tables.bytes.size() + api_n + sequences.bytes.size();
  Out out{sink, Sha256()};
  Fields header;
  header.raw(kSnapshotMagic, sizeof kSnapshotMagic);
  header.u32(kSnapshotVersion);
  header.u32(0);
  header.raw(image.module_sha256.data(), 64);
  header.u64(content);
  SNAP_TRY(out.put(header));

  SNAP_TRY(out.put(section_header(SnapshotSection_memory, memory_bytes(image))));
  Fields memory;
  memory.u32(image.has_memory ? 1 : 0);
  memory.u32(image.memory_pages);
  memory.u64(image.chunks.size());
  SNAP_TRY(out.put(memory));
  for (const SnapshotChunk& c : image.chunks) {
    Fields head;
    head.u64(c.offset);
    head.u64(c.n_bytes);
    SNAP_TRY(out.put(head));
    SNAP_TRY(out.put(c.bytes, c.n_bytes));
  }
  SNAP_TRY(out.put(section_header(SnapshotSection_mappings, mappings.bytes.size())));
  SNAP_TRY(out.put(mappings));
  SNAP_TRY(out.put(section_header(SnapshotSection_globals, globals.bytes.size())));
  SNAP_TRY(out.put(globals));
  SNAP_TRY(out.put(section_header(SnapshotSection_tables, tables.bytes.size())));
  SNAP_TRY(out.put(tables));
  SNAP_TRY(out.put(section_header(SnapshotSection_host_api, api_n)));
  SNAP_TRY(out.put(api_head));
  std::vector<uint8_t> piece;
  for (const SnapshotTensor& t : image.api.tensors) {
    SNAP_TRY(out.put(tensor_fields(t)));
    if (!t.is_view && t.alias_of == 0) SNAP_TRY(put_tensor_bytes(out, t, &piece));
  }
  SNAP_TRY(out.put(section_header(SnapshotSection_sequences, sequences.bytes.size())));
  SNAP_TRY(out.put(sequences));
  const std::array<uint8_t, 32> sum = out.sha.finish();
  return sink(sum.data(), sum.size());
}

Result<std::vector<uint8_t>> snapshot_to_bytes(const SnapshotImage& image) {
  std::vector<uint8_t> bytes;
  Status s = write_snapshot(image, [&](const void* p, size_t n) {
    bytes.insert(bytes.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    return Status::ok();
  });
  if (!s) return s;
  return bytes;
}

}  // namespace samepage
