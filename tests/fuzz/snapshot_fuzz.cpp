// libFuzzer entry for the snapshot parser (src/snapshot): every input is
// parsed twice, as it is and with its header length and checksum repaired,
// so hostile contents under a valid checksum reach every section's parser.
// Whatever parses must keep its promises: chunks and tensor bytes inside
// the input, ascending and inside the memory, recorded ops bounded; ASan
// checks each byte range is readable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/sha256.h"
#include "snapshot/snapshot_format.h"

namespace {

constexpr size_t kHeaderBytes = 88;

void check(const uint8_t* data, size_t size) {
  auto parsed = samepage::parse_snapshot(data, size);
  if (!parsed.is_ok()) {
    if (parsed.message().rfind("[snapshot::read] ", 0) != 0) std::abort();
    return;
  }
  const samepage::SnapshotImage& im = parsed.value();
  const uint64_t memory = uint64_t{im.memory_pages} * 65536;
  uint64_t end = 0, sum = 0;
  for (const samepage::SnapshotChunk& c : im.chunks) {
    if (c.offset < end || c.offset + c.n_bytes > memory) std::abort();
    if (c.bytes < data || c.bytes + c.n_bytes > data + size) std::abort();
    sum += c.bytes[0] + c.bytes[c.n_bytes - 1];
    end = c.offset + c.n_bytes;
  }
  for (const samepage::SnapshotMapping& m : im.mappings)
    if (m.n_bytes == 0 || m.guest_offset + m.n_bytes > memory) std::abort();
  for (const samepage::SnapshotTensor& t : im.api.tensors) {
    if (t.handle < 1 || static_cast<uint32_t>(t.handle) > im.api.n_slots) std::abort();
    if (t.alias_of != 0) {
      if (t.alias_of >= t.handle || t.bytes != nullptr) std::abort();  // shares an earlier tensor's bytes
    } else if (!t.is_view) {
      if (t.bytes < data || t.bytes + t.n_bytes > data + size) std::abort();
      sum += t.bytes[0] + t.bytes[t.n_bytes - 1];
    } else if (t.guest_offset + t.n_bytes > memory) {
      std::abort();
    }
  }
  // Recorded ops: ids ascending among the host API's sequences, every op
  // with 1 to 4 operands inside the handle table (the restore re-checks the rest).
  int32_t last = 0;
  for (const samepage::SnapshotSequence& seq : im.recorded) {
    if (seq.id <= last || seq.ops.empty()) std::abort();
    bool listed = false;
    for (int32_t id : im.api.sequences) listed |= id == seq.id;
    if (!listed) std::abort();
    last = seq.id;
    for (const samepage::SnapshotOp& op : seq.ops) {
      if (op.n_handles < 1 || op.n_handles > 4 || op.op > samepage::kMaxSnapshotOpCode) std::abort();
      for (uint32_t j = 0; j < op.n_handles; ++j)
        if (op.handles[j] < 1 || static_cast<uint32_t>(op.handles[j]) > im.api.n_slots) std::abort();
    }
  }
  if (sum == 0xdeadbeefdeadbeefull) std::abort();  // keeps the reads
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check(data, size);
  if (size < kHeaderBytes + 32) return 0;
  std::vector<uint8_t> sealed(data, data + size);
  const uint64_t content = size - kHeaderBytes - 32;
  std::memcpy(sealed.data() + 80, &content, 8);  // little-endian host
  samepage::Sha256 sha;
  sha.update(sealed.data(), size - 32);
  const auto sum = sha.finish();
  std::memcpy(sealed.data() + size - 32, sum.data(), 32);
  check(sealed.data(), sealed.size());
  return 0;
}
