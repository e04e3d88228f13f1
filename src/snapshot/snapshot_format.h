// The snapshot file: one guest's whole state between calls (issue 10).
//
// Layout, little-endian, every count, length and offset bounded before use
// (a snapshot is untrusted input):
//   header   "SPSNAPSH" u32 version u32 0 char[64] module SHA-256 (hex)
//            u64 content bytes (the sections, exactly)
//   sections {u32 id, u32 0, u64 n_bytes, payload}, each once, in id order:
//     1 memory    u32 has_memory u32 pages u64 n_chunks, then chunks
//                 {u64 offset u64 n_bytes bytes}: 4 KiB granules, ascending,
//                 disjoint, inside the memory; absent bytes are zero
//     2 mappings  u32 n, then {u64 guest_offset u64 n_bytes u64 file_offset
//                 u8[32] SHA-256 of the mapped bytes, str preopen, str path}
//     3 globals   u32 n, then {u32 index u8 type u8[3] 0 u64 bits} (mutable ones)
//     4 tables    u32 n, then {u8 elem_type u8[3] 0 u32 size, u32 entry * size}
//     5 host API  u32 present u32 n_slots u32 next_sequence u32 n_free
//                 u32 free handle * n_free, u32 n_sequences u32 id * n,
//                 u32 n_tensors, then {i32 handle i32 alias_of u8 is_view
//                 u8 dtype u8 n_dims u8 0 i32 flags i64 shape[4]
//                 u64 guest_offset u64 n_bytes (64 bytes), then for a
//                 runtime tensor that is no alias: n_bytes bytes}
//     6 sequences u32 n, then {u32 id u32 n_ops, then n_ops * {u32 op
//                 u32 n_handles i32 handle[4] u32 f bits[2] i32 i[2]}}
//                 (40 bytes each): the ops of the live recorded sequences,
//                 as the guest submitted them, ids ascending and among the
//                 host API's; a sequence listed there but not here (one a
//                 freed tensor broke) comes back dropped
//                 (version 2; a version 1 file has no section 6: all dropped)
//   trailer  u8[32] SHA-256 of everything before it
// str: u32 length then bytes (no NUL, at most kMaxSnapshotPath).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "samepage/status.h"

#define SNAP_TRY(expr)                  \
  do {                                  \
    if (::samepage::Status snap_s_ = (expr); !snap_s_) return snap_s_; \
  } while (0)

namespace samepage {

constexpr char kSnapshotMagic[8] = {'S', 'P', 'S', 'N', 'A', 'P', 'S', 'H'};
constexpr uint32_t kSnapshotVersion = 2;  // 1 is read too (no recorded ops)
constexpr uint64_t kSnapshotGranuleBytes = 4096;  // memory chunks are whole granules

// True when the granule at p (kSnapshotGranuleBytes) is all zero bytes: such
// granules are not saved, and a restore clears only those that are not.
inline bool granule_is_zero(const uint8_t* p) {
  uint64_t acc = 0;
  for (size_t i = 0; i < kSnapshotGranuleBytes; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    acc |= v;
  }
  return acc == 0;
}
constexpr uint32_t kSnapshotNullFunc = 0xffffffffu;  // a null funcref in a table or global
constexpr uint32_t kMaxSnapshotPath = 4096;
constexpr uint32_t kMaxSnapshotMappings = 1u << 16;
constexpr uint32_t kMaxSnapshotTables = 1u << 16;
constexpr uint32_t kMaxSnapshotGlobals = 1u << 20;
constexpr uint32_t kMaxSnapshotTensorSlots = 1u << 16;  // TensorTable::kMaxTensors
constexpr uint32_t kMaxSnapshotSequences = 1u << 16;
constexpr uint32_t kMaxSnapshotRecordedOps = 1u << 18;  // across all sequences, as the host API allows
constexpr uint32_t kMaxSnapshotOpCode = 255;  // a bound only: the restore knows the op codes (the compute plane's)

enum SnapshotSection : uint32_t {
  SnapshotSection_memory = 1,
  SnapshotSection_mappings = 2,
  SnapshotSection_globals = 3,
  SnapshotSection_tables = 4,
  SnapshotSection_host_api = 5,
  SnapshotSection_sequences = 6,
};

struct SnapshotChunk {
  uint64_t offset = 0;
  uint64_t n_bytes = 0;
  const uint8_t* bytes = nullptr;  // into guest memory (writing) or the file buffer (reading)
};

struct SnapshotMapping {
  uint64_t guest_offset = 0;
  uint64_t n_bytes = 0;      // bytes of the file mapped (not rounded)
  uint64_t file_offset = 0;
  std::array<uint8_t, 32> sha256{};
  std::string preopen;       // the preopen's guest path ("/models")
  std::string path;          // beneath it ("dir/model.gguf")
};

struct SnapshotGlobal {
  uint32_t index = 0;        // among the module's defined globals
  char type = 0;             // signature letter: i I f F r e
  uint64_t bits = 0;         // the value's bits; a funcref: function index or kSnapshotNullFunc
};

struct SnapshotTable {
  char elem_type = 0;        // 'r' or 'e'
  std::vector<uint32_t> entries;  // function indices or kSnapshotNullFunc (externref: all null)
};

struct SnapshotTensor {
  int32_t handle = 0;
  int32_t alias_of = 0;  // a reshaped alias: the lower handle whose bytes it shares (0: none)
  bool is_view = false;
  int32_t dtype = 0;
  int32_t n_dims = 0;
  int64_t shape[4] = {1, 1, 1, 1};
  int32_t flags = 0;
  uint64_t guest_offset = 0;   // views
  uint64_t n_bytes = 0;
  // Runtime tensors that are no alias: n_bytes of data at bytes, or (bytes
  // null) read from where they live, a piece at a time, as they are written.
  const uint8_t* bytes = nullptr;
  std::function<Status(uint64_t offset, uint64_t n, void* out)> read;
};

struct SnapshotHostApi {
  bool present = false;
  uint32_t n_slots = 0;                 // handles 1..n_slots exist, live or free
  uint32_t next_sequence = 1;
  std::vector<int32_t> free_handles;    // in the order the table reuses them (last first)
  std::vector<int32_t> sequences;       // ids of recorded sequences (dropped on restore)
  std::vector<SnapshotTensor> tensors;  // by handle
};

// One op of a recorded sequence as the guest submitted it: handles and
// scalars; i[0] may be an SP_PARAM placeholder. Bounded here (an op code
// up to kMaxSnapshotOpCode,
// 1 to 4 handles inside the table, unused handles zero); everything else is
// checked by recording it again on restore, through the guest's own checks.
struct SnapshotOp {
  uint32_t op = 0;
  uint32_t n_handles = 0;
  int32_t handles[4] = {0, 0, 0, 0};
  uint32_t f_bits[2] = {0, 0};
  int32_t i[2] = {0, 0};
};

struct SnapshotSequence {
  int32_t id = 0;
  std::vector<SnapshotOp> ops;  // at least one
};

struct SnapshotImage {
  std::string module_sha256;  // 64 lowercase hex digits
  bool has_memory = false;
  uint32_t memory_pages = 0;
  std::vector<SnapshotChunk> chunks;
  std::vector<SnapshotMapping> mappings;
  std::vector<SnapshotGlobal> globals;
  std::vector<SnapshotTable> tables;
  SnapshotHostApi api;
  std::vector<SnapshotSequence> recorded;  // ascending ids, each among api.sequences
};

// Where the writer's bytes go (a file, a buffer); an error stops it.
using SnapshotSink = std::function<Status(const void* data, size_t n_bytes)>;

// Writes `image` (whose chunk and tensor bytes, and tensor readers, must
// stay valid meanwhile).
Status write_snapshot(const SnapshotImage& image, const SnapshotSink& sink);
Result<std::vector<uint8_t>> snapshot_to_bytes(const SnapshotImage& image);

// Checks the checksum, then parses and bounds everything a snapshot says on
// its own (not yet against a module): its pointers point into `bytes`,
// which must outlive the image.
Result<SnapshotImage> parse_snapshot(const uint8_t* bytes, size_t n_bytes);

}  // namespace samepage
