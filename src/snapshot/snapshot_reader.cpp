// Parses a snapshot file (snapshot_format.h). Everything here is untrusted:
// the checksum is checked first, then every count is bounded by the bytes
// that remain before anything is reserved, and every offset and length is
// checked overflow-safe. Errors name the section and what is wrong.
#include <algorithm>
#include <cstring>
#include <set>

#include "engine/sha256.h"
#include "samepage/dtype.h"
#include "snapshot/snapshot_format.h"

namespace samepage {
namespace {

constexpr uint64_t kHeaderBytes = 8 + 4 + 4 + 64 + 8;
constexpr uint64_t kTrailerBytes = 32;
constexpr uint64_t kWasmPage = 64 * 1024;

class Reader {
 public:
  Reader(const uint8_t* p, uint64_t n, std::string where) : p_(p), n_(n), where_(std::move(where)) {}
  uint64_t left() const { return n_ - at_; }
  Status fail(const std::string& what) const {
    return err("snapshot::read", where_ + " at byte " + std::to_string(at_) + ": " + what);
  }
  Status need(uint64_t n) const {
    return n <= left() ? Status::ok() : fail("truncated (" + std::to_string(n) + " bytes needed, " +
                                             std::to_string(left()) + " left)");
  }
  Status u8(uint8_t* v) { SNAP_TRY(need(1)); *v = p_[at_++]; return Status::ok(); }
  Status u32(uint32_t* v) {
    SNAP_TRY(need(4));
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= uint32_t{p_[at_ + i]} << (8 * i);
    at_ += 4;
    return Status::ok();
  }
  Status u64(uint64_t* v) {
    SNAP_TRY(need(8));
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= uint64_t{p_[at_ + i]} << (8 * i);
    at_ += 8;
    return Status::ok();
  }
  Status bytes(uint64_t n, const uint8_t** out) { SNAP_TRY(need(n)); *out = p_ + at_; at_ += n; return Status::ok(); }
  Status zeros(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      uint8_t b = 0;
      SNAP_TRY(u8(&b));
      if (b != 0) return fail("reserved byte is not zero");
    }
    return Status::ok();
  }
  Status str(std::string* out) {
    uint32_t n = 0;
    SNAP_TRY(u32(&n));
    if (n > kMaxSnapshotPath) return fail("a path of " + std::to_string(n) + " bytes is over " + std::to_string(kMaxSnapshotPath));
    const uint8_t* b = nullptr;
    SNAP_TRY(bytes(n, &b));
    out->assign(reinterpret_cast<const char*>(b), n);
    if (out->find('\0') != std::string::npos) return fail("a path holds a NUL byte");
    return Status::ok();
  }
  // A count of records of at least min_record_bytes each, bounded by what is left and by `max`.
  Status count(uint32_t* n, uint64_t min_record_bytes, uint64_t max, const char* what) {
    SNAP_TRY(u32(n));
    if (*n > max) return fail(std::to_string(*n) + " " + what + " is over the limit of " + std::to_string(max));
    if (uint64_t{*n} * min_record_bytes > left())
      return fail(std::to_string(*n) + " " + what + " cannot fit in the " + std::to_string(left()) + " bytes left");
    return Status::ok();
  }
  Status done() const { return left() == 0 ? Status::ok() : fail(std::to_string(left()) + " bytes left unread"); }

 private:
  const uint8_t* p_;
  uint64_t n_;
  uint64_t at_ = 0;
  std::string where_;
};

Status read_memory(Reader& r, SnapshotImage& image) {
  uint32_t has = 0;
  SNAP_TRY(r.u32(&has));
  SNAP_TRY(r.u32(&image.memory_pages));
  if (has > 1) return r.fail("has_memory must be 0 or 1");
  image.has_memory = has == 1;
  if (image.memory_pages > 65535) return r.fail(std::to_string(image.memory_pages) + " pages is over 65535");
  if (!image.has_memory && image.memory_pages != 0) return r.fail("pages without a memory");
  const uint64_t size = uint64_t{image.memory_pages} * kWasmPage;
  uint64_t n_chunks = 0;
  SNAP_TRY(r.u64(&n_chunks));
  if (n_chunks > size / kSnapshotGranuleBytes || n_chunks * 16 > r.left())
    return r.fail(std::to_string(n_chunks) + " chunks cannot fit in a memory of " + std::to_string(size) + " bytes");
  image.chunks.reserve(n_chunks);
  uint64_t end = 0;
  for (uint64_t i = 0; i < n_chunks; ++i) {
    SnapshotChunk c;
    SNAP_TRY(r.u64(&c.offset));
    SNAP_TRY(r.u64(&c.n_bytes));
    const std::string which = "chunk " + std::to_string(i) + " [" + std::to_string(c.offset) + ", +" + std::to_string(c.n_bytes) + ")";
    if (c.n_bytes == 0 || c.offset % kSnapshotGranuleBytes != 0 || c.n_bytes % kSnapshotGranuleBytes != 0)
      return r.fail(which + " is not whole 4 KiB granules");
    if (i > 0 && c.offset < end) return r.fail(which + " overlaps or precedes the chunk before it");
    if (c.offset > size || c.n_bytes > size - c.offset)
      return r.fail(which + " is outside the memory of " + std::to_string(size) + " bytes");
    SNAP_TRY(r.bytes(c.n_bytes, &c.bytes));
    end = c.offset + c.n_bytes;
    image.chunks.push_back(c);
  }
  return r.done();
}

Status read_mappings(Reader& r, SnapshotImage& image) {
  uint32_t n = 0;
  SNAP_TRY(r.count(&n, 64, kMaxSnapshotMappings, "mappings"));
  const uint64_t size = uint64_t{image.memory_pages} * kWasmPage;
  for (uint32_t i = 0; i < n; ++i) {
    SnapshotMapping m;
    SNAP_TRY(r.u64(&m.guest_offset));
    SNAP_TRY(r.u64(&m.n_bytes));
    SNAP_TRY(r.u64(&m.file_offset));
    const uint8_t* sum = nullptr;
    SNAP_TRY(r.bytes(32, &sum));
    std::memcpy(m.sha256.data(), sum, 32);
    SNAP_TRY(r.str(&m.preopen));
    SNAP_TRY(r.str(&m.path));
    const std::string which = "mapping " + std::to_string(i);
    if (m.n_bytes == 0 || m.guest_offset % kSnapshotGranuleBytes != 0 || m.file_offset % kSnapshotGranuleBytes != 0)
      return r.fail(which + " is empty or not granule-aligned");
    if (m.file_offset > (uint64_t{1} << 62)) return r.fail(which + " has a file offset past 2^62");
    if (m.guest_offset > size || m.n_bytes > size - m.guest_offset)
      return r.fail(which + " is outside the memory of " + std::to_string(size) + " bytes");
    if (m.preopen.empty() || m.path.empty()) return r.fail(which + " names no file");
    image.mappings.push_back(std::move(m));
  }
  // Disjoint from each other and from the saved chunks (their bytes come from
  // the file). Sorted neighbours and a binary search over the chunks (already
  // ascending and disjoint): a hostile file's 65,536 mappings cost n log n.
  std::vector<size_t> order(image.mappings.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return image.mappings[x].guest_offset < image.mappings[y].guest_offset;
  });
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const SnapshotMapping& a = image.mappings[i];
    if (k + 1 < order.size() && image.mappings[order[k + 1]].guest_offset < a.guest_offset + a.n_bytes)
      return r.fail("mappings " + std::to_string(std::min(i, order[k + 1])) + " and " +
                    std::to_string(std::max(i, order[k + 1])) + " overlap");
    // The first chunk that ends after the mapping starts is the only one that can overlap it.
    auto c = std::upper_bound(image.chunks.begin(), image.chunks.end(), a.guest_offset,
                              [](uint64_t at, const SnapshotChunk& chunk) { return at < chunk.offset + chunk.n_bytes; });
    if (c != image.chunks.end() && c->offset < a.guest_offset + a.n_bytes)
      return r.fail("mapping " + std::to_string(i) + " overlaps a saved memory chunk");
  }
  return r.done();
}

bool is_type_letter(uint8_t c) { return c == 'i' || c == 'I' || c == 'f' || c == 'F' || c == 'r' || c == 'e'; }

Status read_globals(Reader& r, SnapshotImage& image) {
  uint32_t n = 0;
  SNAP_TRY(r.count(&n, 16, kMaxSnapshotGlobals, "globals"));
  image.globals.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    SnapshotGlobal g;
    uint8_t type = 0;
    SNAP_TRY(r.u32(&g.index));
    SNAP_TRY(r.u8(&type));
    SNAP_TRY(r.zeros(3));
    SNAP_TRY(r.u64(&g.bits));
    if (!is_type_letter(type)) return r.fail("global " + std::to_string(g.index) + " has no value type");
    if (i > 0 && g.index <= image.globals.back().index) return r.fail("global indices are not ascending");
    if ((type == 'i' || type == 'f') && g.bits > 0xffffffffu) return r.fail("a 32-bit global holds more than 32 bits");
    if ((type == 'r' || type == 'e') && g.bits > kSnapshotNullFunc) return r.fail("a reference global holds more than 32 bits");
    g.type = static_cast<char>(type);
    image.globals.push_back(g);
  }
  return r.done();
}

Status read_tables(Reader& r, SnapshotImage& image) {
  uint32_t n = 0;
  SNAP_TRY(r.count(&n, 8, kMaxSnapshotTables, "tables"));
  for (uint32_t i = 0; i < n; ++i) {
    SnapshotTable t;
    uint8_t type = 0;
    uint32_t size = 0;
    SNAP_TRY(r.u8(&type));
    SNAP_TRY(r.zeros(3));
    SNAP_TRY(r.count(&size, 4, 0xffffffffu, "table entries"));
    if (type != 'r' && type != 'e') return r.fail("table " + std::to_string(i) + " holds neither funcref nor externref");
    t.elem_type = static_cast<char>(type);
    t.entries.resize(size);
    for (uint32_t& e : t.entries) SNAP_TRY(r.u32(&e));
    if (type == 'e')
      for (uint32_t e : t.entries)
        if (e != kSnapshotNullFunc) return r.fail("externref table " + std::to_string(i) + " holds a non-null entry");
    image.tables.push_back(std::move(t));
  }
  return r.done();
}

Status read_tensor(Reader& r, const SnapshotImage& image, SnapshotTensor* t) {
  uint32_t handle = 0, alias_of = 0, flags = 0;
  uint8_t is_view = 0, dtype = 0, n_dims = 0;
  SNAP_TRY(r.u32(&handle));
  SNAP_TRY(r.u32(&alias_of));
  SNAP_TRY(r.u8(&is_view));
  SNAP_TRY(r.u8(&dtype));
  SNAP_TRY(r.u8(&n_dims));
  SNAP_TRY(r.zeros(1));
  SNAP_TRY(r.u32(&flags));
  for (int d = 0; d < 4; ++d) {
    uint64_t dim = 0;
    SNAP_TRY(r.u64(&dim));
    if (dim == 0 || dim > 0xffffffffu) return r.fail("tensor " + std::to_string(handle) + " has dimension " + std::to_string(dim));
    t->shape[d] = static_cast<int64_t>(dim);
  }
  SNAP_TRY(r.u64(&t->guest_offset));
  SNAP_TRY(r.u64(&t->n_bytes));
  const std::string which = "tensor " + std::to_string(handle);
  if (handle == 0 || handle > image.api.n_slots) return r.fail(which + " is not a handle of the table");
  if (is_view > 1 || flags > 3) return r.fail(which + " has unknown flags");
  if (!dtype_valid(dtype)) return r.fail(which + " has unknown dtype " + std::to_string(dtype));
  if (n_dims < 1 || n_dims > 4) return r.fail(which + " has " + std::to_string(n_dims) + " dimensions");
  for (int d = n_dims; d < 4; ++d)
    if (t->shape[d] != 1) return r.fail(which + " has a dimension past its rank");
  t->handle = static_cast<int32_t>(handle);
  t->alias_of = static_cast<int32_t>(alias_of);
  t->is_view = is_view == 1;
  t->dtype = dtype;
  t->n_dims = n_dims;
  t->flags = static_cast<int32_t>(flags);
  const uint64_t expect = tensor_bytes(static_cast<DType>(dtype), n_dims, t->shape);
  if (expect == 0 || expect != t->n_bytes) return r.fail(which + ": its byte count does not match its dtype and shape");
  if (alias_of != 0) {
    // The lower handle it shares bytes with: parsed already, no alias itself, the same bytes.
    const auto& earlier = image.api.tensors;  // ascending by handle
    auto it = std::lower_bound(earlier.begin(), earlier.end(), t->alias_of,
                               [](const SnapshotTensor& a, int32_t h) { return a.handle < h; });
    const SnapshotTensor* base = it != earlier.end() && it->handle == t->alias_of ? &*it : nullptr;
    if (alias_of >= handle || base == nullptr || base->alias_of != 0)
      return r.fail(which + " is an alias of " + std::to_string(alias_of) + ", which is no earlier tensor of its own");
    if (base->is_view != t->is_view || base->n_bytes != t->n_bytes || base->dtype != t->dtype ||
        base->flags != t->flags || base->guest_offset != t->guest_offset)
      return r.fail(which + " does not match the tensor it aliases");
    return Status::ok();
  }
  if (t->is_view) {
    const uint64_t size = uint64_t{image.memory_pages} * kWasmPage;
    if (t->guest_offset > size || t->n_bytes > size - t->guest_offset) return r.fail(which + " views bytes outside the memory");
  } else {
    if (t->guest_offset != 0) return r.fail(which + " is a runtime tensor with a guest offset");
    SNAP_TRY(r.bytes(t->n_bytes, &t->bytes));
  }
  return Status::ok();
}

Status read_host_api(Reader& r, SnapshotImage& image) {
  SnapshotHostApi& api = image.api;
  uint32_t present = 0, n_free = 0, n_sequences = 0, n_tensors = 0;
  SNAP_TRY(r.u32(&present));
  SNAP_TRY(r.u32(&api.n_slots));
  SNAP_TRY(r.u32(&api.next_sequence));
  if (present > 1) return r.fail("present must be 0 or 1");
  api.present = present == 1;
  if (api.n_slots > kMaxSnapshotTensorSlots) return r.fail(std::to_string(api.n_slots) + " tensor handles is over the limit");
  if (api.next_sequence == 0 || api.next_sequence > 0x7fffffffu) return r.fail("next sequence id out of range");
  SNAP_TRY(r.count(&n_free, 4, api.n_slots, "free handles"));
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < n_free; ++i) {
    uint32_t h = 0;
    SNAP_TRY(r.u32(&h));
    if (h == 0 || h > api.n_slots || !seen.insert(h).second) return r.fail("free handle " + std::to_string(h) + " is out of range or repeated");
    api.free_handles.push_back(static_cast<int32_t>(h));
  }
  SNAP_TRY(r.count(&n_sequences, 4, kMaxSnapshotSequences, "sequences"));
  for (uint32_t i = 0; i < n_sequences; ++i) {
    uint32_t id = 0;
    SNAP_TRY(r.u32(&id));
    if (id == 0 || id >= api.next_sequence || (i > 0 && static_cast<int32_t>(id) <= api.sequences.back()))
      return r.fail("sequence id " + std::to_string(id) + " is out of range or not ascending");
    api.sequences.push_back(static_cast<int32_t>(id));
  }
  SNAP_TRY(r.count(&n_tensors, 64, api.n_slots, "tensors"));
  if (n_tensors + n_free != api.n_slots) return r.fail("live and free handles do not add up to the table's size");
  api.tensors.reserve(n_tensors);
  for (uint32_t i = 0; i < n_tensors; ++i) {
    SnapshotTensor t;
    SNAP_TRY(read_tensor(r, image, &t));
    const uint32_t h = static_cast<uint32_t>(t.handle);
    if (!seen.insert(h).second) return r.fail("tensor handle " + std::to_string(h) + " is repeated or free");
    if (i > 0 && t.handle <= api.tensors.back().handle) return r.fail("tensor handles are not ascending");
    api.tensors.push_back(t);
  }
  if (!api.present && api.n_slots + api.sequences.size() != 0) return r.fail("host API state without a host API");
  return r.done();
}

Status read_sequences(Reader& r, SnapshotImage& image) {
  const SnapshotHostApi& api = image.api;
  uint32_t n = 0;
  SNAP_TRY(r.count(&n, 8, api.sequences.size(), "recorded sequences"));
  uint64_t total_ops = 0;
  image.recorded.reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    SnapshotSequence seq;
    uint32_t id = 0, n_ops = 0;
    SNAP_TRY(r.u32(&id));
    seq.id = static_cast<int32_t>(id);
    if (id > 0x7fffffffu || !std::binary_search(api.sequences.begin(), api.sequences.end(), seq.id) ||
        (k > 0 && seq.id <= image.recorded.back().id))
      return r.fail("recorded sequence " + std::to_string(id) + " is not a sequence of the host API, or not ascending");
    SNAP_TRY(r.count(&n_ops, 40, kMaxSnapshotRecordedOps, "ops"));
    if (n_ops == 0) return r.fail("recorded sequence " + std::to_string(id) + " has no ops");
    total_ops += n_ops;
    if (total_ops > kMaxSnapshotRecordedOps)
      return r.fail("more than " + std::to_string(kMaxSnapshotRecordedOps) + " recorded ops");
    seq.ops.resize(n_ops);
    for (SnapshotOp& op : seq.ops) {
      SNAP_TRY(r.u32(&op.op));
      SNAP_TRY(r.u32(&op.n_handles));
      for (int32_t& h : op.handles) {
        uint32_t v = 0;
        SNAP_TRY(r.u32(&v));
        h = static_cast<int32_t>(v);
      }
      for (uint32_t& b : op.f_bits) SNAP_TRY(r.u32(&b));
      for (int32_t& v : op.i) {
        uint32_t u = 0;
        SNAP_TRY(r.u32(&u));
        v = static_cast<int32_t>(u);
      }
      if (op.op > kMaxSnapshotOpCode) return r.fail("op code " + std::to_string(op.op) + " is out of range");
      if (op.n_handles < 1 || op.n_handles > 4) return r.fail("an op with " + std::to_string(op.n_handles) + " operands");
      for (uint32_t j = 0; j < 4; ++j) {
        const bool used = j < op.n_handles;
        if (used ? (op.handles[j] < 1 || uint32_t(op.handles[j]) > api.n_slots) : op.handles[j] != 0)
          return r.fail("operand " + std::to_string(j) + " (" + std::to_string(op.handles[j]) + ") is outside the handle table");
      }
    }
    image.recorded.push_back(std::move(seq));
  }
  return r.done();
}

}  // namespace

Result<SnapshotImage> parse_snapshot(const uint8_t* bytes, size_t n_bytes) {
  const char* where = "snapshot::read";
  if (n_bytes < kHeaderBytes + kTrailerBytes || std::memcmp(bytes, kSnapshotMagic, sizeof kSnapshotMagic) != 0)
    return err(where, n_bytes < kHeaderBytes + kTrailerBytes ? "not a samepage snapshot (too short)" : "not a samepage snapshot (bad magic)");
  Reader header(bytes + 8, kHeaderBytes - 8, "header");
  uint32_t version = 0, flags = 0;
  uint64_t content = 0;
  SNAP_TRY(header.u32(&version));
  SNAP_TRY(header.u32(&flags));
  if (version != kSnapshotVersion && version != 1)
    return err(where, "snapshot format version " + std::to_string(version) + ", this samepage reads versions 1 to " +
                          std::to_string(kSnapshotVersion));
  if (flags != 0) return err(where, "unknown header flags");
  const uint8_t* hex = nullptr;
  SNAP_TRY(header.bytes(64, &hex));
  SNAP_TRY(header.u64(&content));
  if (content != n_bytes - kHeaderBytes - kTrailerBytes)
    return err(where, "the snapshot is truncated or has trailing bytes: its header says " + std::to_string(content) +
                          " bytes of content, the file holds " + std::to_string(n_bytes - kHeaderBytes - kTrailerBytes));
  Sha256 sha;
  sha.update(bytes, n_bytes - kTrailerBytes);
  const std::array<uint8_t, 32> sum = sha.finish();
  if (std::memcmp(sum.data(), bytes + n_bytes - kTrailerBytes, 32) != 0)
    return err(where, "checksum mismatch: the snapshot is corrupt");

  SnapshotImage image;
  image.module_sha256.assign(reinterpret_cast<const char*>(hex), 64);
  for (char c : image.module_sha256)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return err(where, "the module hash is not hex");
  Reader body(bytes + kHeaderBytes, content, "sections");
  using Parse = Status (*)(Reader&, SnapshotImage&);
  static const struct { SnapshotSection id; const char* name; Parse parse; } kSections[] = {
      {SnapshotSection_memory, "memory section", read_memory},
      {SnapshotSection_mappings, "mappings section", read_mappings},
      {SnapshotSection_globals, "globals section", read_globals},
      {SnapshotSection_tables, "tables section", read_tables},
      {SnapshotSection_host_api, "host API section", read_host_api},
      {SnapshotSection_sequences, "sequences section", read_sequences},
  };
  for (const auto& section : kSections) {
    if (section.id == SnapshotSection_sequences && version == 1) break;  // version 1 ends before it
    uint32_t id = 0, zero = 0;
    uint64_t n = 0;
    SNAP_TRY(body.u32(&id));
    SNAP_TRY(body.u32(&zero));
    SNAP_TRY(body.u64(&n));
    if (id != section.id || zero != 0)
      return body.fail("expected the " + std::string(section.name) + " (id " + std::to_string(section.id) + "), found id " +
                       std::to_string(id));
    const uint8_t* payload = nullptr;
    SNAP_TRY(body.bytes(n, &payload));
    Reader r(payload, n, section.name);
    SNAP_TRY(section.parse(r, image));
  }
  SNAP_TRY(body.done());
  return image;
}

}  // namespace samepage
