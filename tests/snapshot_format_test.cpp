// The snapshot parser against hostile files: truncations, bit flips with
// and without a repaired checksum, huge counts, chunks that overlap or leave
// the memory. No guest runs here, so scripts/test.sh runs these under ASan.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "engine/sha256.h"
#include "samepage/backend.h"
#include "snapshot/snapshot_format.h"

namespace samepage {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr size_t kHeaderBytes = 88;

struct Sample {
  Bytes memory = Bytes(3 * 4096);
  Bytes tensor = Bytes(64);
  SnapshotImage image;
};

void fill_sample(Sample& s) {
  for (size_t i = 0; i < s.memory.size(); ++i) s.memory[i] = static_cast<uint8_t>(i * 7 + 1);
  for (size_t i = 0; i < s.tensor.size(); ++i) s.tensor[i] = static_cast<uint8_t>(255 - i);
  SnapshotImage& im = s.image;
  im.module_sha256 = std::string(64, 'a');
  im.has_memory = true;
  im.memory_pages = 2;
  im.chunks = {{0, 4096, s.memory.data()}, {8192, 8192, s.memory.data() + 4096}};
  SnapshotMapping m;
  m.guest_offset = 65536;
  m.n_bytes = 5000;
  m.file_offset = 4096;
  m.sha256.fill(0x11);
  m.preopen = "/data";
  m.path = "dir/m.bin";
  im.mappings = {m};
  im.globals = {{0, 'i', 7}, {2, 'I', uint64_t{1} << 40}, {3, 'r', 5}, {4, 'e', kSnapshotNullFunc}};
  im.tables = {{'r', {0, kSnapshotNullFunc, 3}}, {'e', {kSnapshotNullFunc, kSnapshotNullFunc}}};
  im.api.present = true;
  im.api.n_slots = 4;
  im.api.next_sequence = 3;
  im.api.free_handles = {2};
  im.api.sequences = {1, 2};
  SnapshotSequence seq;  // sequence 1: scale(3 <- 1, 0.5), set_rows(3, 1, SP_PARAM(0)); 2 is dropped
  seq.id = 1;
  SnapshotOp scale;
  scale.op = OpCode_scale;
  scale.n_handles = 2;
  scale.handles[0] = 3, scale.handles[1] = 1;
  scale.f_bits[0] = 0x3f000000u;
  SnapshotOp rows;
  rows.op = OpCode_set_rows;
  rows.n_handles = 2;
  rows.handles[0] = 3, rows.handles[1] = 1;
  rows.i[0] = INT32_MIN;
  seq.ops = {scale, rows};
  im.recorded = {seq};
  SnapshotTensor view;
  view.handle = 1;
  view.is_view = true;
  view.n_dims = 1;
  view.shape[0] = 16;
  view.guest_offset = 128;
  view.n_bytes = 64;
  view.flags = 1;
  SnapshotTensor runtime;
  runtime.handle = 3;
  runtime.n_dims = 2;
  runtime.shape[0] = 4;
  runtime.shape[1] = 4;
  runtime.n_bytes = 64;
  runtime.bytes = s.tensor.data();
  SnapshotTensor alias = runtime;  // a reshape of handle 3: no bytes of its own
  alias.handle = 4;
  alias.alias_of = 3;
  alias.n_dims = 1;
  alias.shape[0] = 16;
  alias.shape[1] = 1;
  alias.bytes = nullptr;
  im.api.tensors = {view, runtime, alias};
}

Bytes encode(const SnapshotImage& image) {
  auto bytes = snapshot_to_bytes(image);
  EXPECT_TRUE(bytes.is_ok()) << bytes.message();
  return bytes.is_ok() ? bytes.value() : Bytes{};
}

Bytes sample_bytes() {
  Sample s;
  fill_sample(s);
  return encode(s.image);
}

// Repairs the trailer (and the header's content length) after an edit: the
// parser must then find what is wrong by itself.
void reseal(Bytes& b) {
  const uint64_t content = b.size() - kHeaderBytes - 32;
  for (int i = 0; i < 8; ++i) b[80 + i] = static_cast<uint8_t>(content >> (8 * i));
  Sha256 sha;
  sha.update(b.data(), b.size() - 32);
  const auto sum = sha.finish();
  std::memcpy(b.data() + b.size() - 32, sum.data(), 32);
}

// Offsets of each section header, in order (the sample is well formed).
std::vector<size_t> section_offsets(const Bytes& b) {
  std::vector<size_t> out;
  size_t at = kHeaderBytes;
  while (at + 16 <= b.size() - 32) {
    out.push_back(at);
    uint64_t n = 0;
    std::memcpy(&n, b.data() + at + 8, 8);
    at += 16 + n;
  }
  return out;
}

void put_u32(Bytes& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
void put_u64(Bytes& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }

std::string parse_error(const Bytes& b) {
  auto parsed = parse_snapshot(b.data(), b.size());
  return parsed.is_ok() ? std::string() : parsed.message();
}

// What every parsed image must satisfy, whatever bytes it came from.
void expect_bounded(const SnapshotImage& im, const Bytes& b) {
  const uint64_t size = uint64_t{im.memory_pages} * 65536;
  uint64_t end = 0;
  for (const SnapshotChunk& c : im.chunks) {
    EXPECT_GE(c.offset, end);
    EXPECT_LE(c.offset + c.n_bytes, size);
    EXPECT_GE(c.bytes, b.data());
    EXPECT_LE(c.bytes + c.n_bytes, b.data() + b.size());
    end = c.offset + c.n_bytes;
  }
  for (const SnapshotMapping& m : im.mappings) EXPECT_LE(m.guest_offset + m.n_bytes, size);
  for (const SnapshotTensor& t : im.api.tensors) {
    EXPECT_GE(t.handle, 1);
    EXPECT_LE(static_cast<uint32_t>(t.handle), im.api.n_slots);
    if (!t.is_view) EXPECT_LE(t.bytes + t.n_bytes, b.data() + b.size());
  }
}

TEST(SnapshotFormat, RoundTripKeepsEveryField) {
  Sample s;
  fill_sample(s);
  const Bytes b = encode(s.image);
  auto parsed = parse_snapshot(b.data(), b.size());
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  const SnapshotImage& im = parsed.value();
  EXPECT_EQ(im.module_sha256, s.image.module_sha256);
  EXPECT_EQ(im.memory_pages, 2u);
  ASSERT_EQ(im.chunks.size(), 2u);
  EXPECT_EQ(im.chunks[1].offset, 8192u);
  EXPECT_EQ(0, std::memcmp(im.chunks[1].bytes, s.memory.data() + 4096, 8192));
  ASSERT_EQ(im.mappings.size(), 1u);
  EXPECT_EQ(im.mappings[0].path, "dir/m.bin");
  EXPECT_EQ(im.mappings[0].file_offset, 4096u);
  EXPECT_EQ(im.mappings[0].sha256, s.image.mappings[0].sha256);
  ASSERT_EQ(im.globals.size(), 4u);
  EXPECT_EQ(im.globals[1].bits, uint64_t{1} << 40);
  EXPECT_EQ(im.globals[2].type, 'r');
  ASSERT_EQ(im.tables.size(), 2u);
  EXPECT_EQ(im.tables[0].entries, (std::vector<uint32_t>{0, kSnapshotNullFunc, 3}));
  EXPECT_EQ(im.api.free_handles, std::vector<int32_t>{2});
  EXPECT_EQ(im.api.sequences, (std::vector<int32_t>{1, 2}));
  ASSERT_EQ(im.recorded.size(), 1u);
  EXPECT_EQ(im.recorded[0].id, 1);
  ASSERT_EQ(im.recorded[0].ops.size(), 2u);
  EXPECT_EQ(im.recorded[0].ops[0].op, uint32_t(OpCode_scale));
  EXPECT_EQ(im.recorded[0].ops[0].f_bits[0], 0x3f000000u);
  EXPECT_EQ(im.recorded[0].ops[1].handles[1], 1);
  EXPECT_EQ(im.recorded[0].ops[1].i[0], INT32_MIN);
  ASSERT_EQ(im.api.tensors.size(), 3u);
  EXPECT_EQ(im.api.tensors[1].shape[1], 4);
  EXPECT_EQ(im.api.tensors[2].alias_of, 3);
  EXPECT_EQ(im.api.tensors[2].bytes, nullptr);
  EXPECT_EQ(0, std::memcmp(im.api.tensors[1].bytes, s.tensor.data(), 64));
}

// A runtime tensor that lives elsewhere (HBM) is written from its reader, a
// piece of at most 8 MiB at a time, in order, and reads back whole; a reader's
// error stops the write with its message.
TEST(SnapshotFormat, RuntimeTensorBytesStreamFromTheirReaderInPieces) {
  Sample s;
  fill_sample(s);
  const int64_t n = (int64_t(20) << 20) / 4 + 1;  // f32 elements: 20 MiB and 4 bytes
  auto pattern = [](uint64_t at) { return static_cast<uint8_t>(at * 13 + 5); };
  std::vector<std::pair<uint64_t, uint64_t>> pieces;
  for (SnapshotTensor& t : s.image.api.tensors) {
    if (t.is_view) continue;
    t.n_dims = 1;
    t.shape[0] = n, t.shape[1] = 1;
    t.n_bytes = uint64_t(n) * 4;
    if (t.alias_of != 0) continue;
    t.bytes = nullptr;
    t.read = [&](uint64_t offset, uint64_t count, void* out) {
      pieces.emplace_back(offset, count);
      for (uint64_t i = 0; i < count; ++i) static_cast<uint8_t*>(out)[i] = pattern(offset + i);
      return Status::ok();
    };
  }
  const Bytes b = encode(s.image);
  ASSERT_EQ(pieces.size(), 3u);
  uint64_t next = 0;
  for (auto [offset, count] : pieces) {
    EXPECT_EQ(offset, next);
    EXPECT_LE(count, uint64_t(8) << 20);
    next += count;
  }
  EXPECT_EQ(next, uint64_t(n) * 4);
  auto parsed = parse_snapshot(b.data(), b.size());
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  const SnapshotTensor& t = parsed.value().api.tensors[1];
  ASSERT_EQ(t.n_bytes, uint64_t(n) * 4);
  for (uint64_t i = 0; i < t.n_bytes; ++i) ASSERT_EQ(t.bytes[i], pattern(i)) << i;

  s.image.api.tensors[1].read = [](uint64_t offset, uint64_t, void*) {
    return offset > 0 ? err("test", "the device went away") : Status::ok();
  };
  auto failed = snapshot_to_bytes(s.image);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.message().find("the device went away"), std::string::npos) << failed.message();
  s.image.api.tensors[1].read = nullptr;
  failed = snapshot_to_bytes(s.image);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.message().find("tensor 3 has no bytes"), std::string::npos) << failed.message();
}

TEST(SnapshotFormat, EveryTruncationIsRefused) {
  const Bytes b = sample_bytes();
  for (size_t n = 0; n < b.size(); ++n) {
    auto parsed = parse_snapshot(b.data(), n);
    ASSERT_FALSE(parsed.is_ok()) << "cut at " << n;
    EXPECT_FALSE(parsed.message().empty());
  }
}

TEST(SnapshotFormat, TruncationAtEachSectionBoundaryWithARepairedChecksumIsRefused) {
  const Bytes b = sample_bytes();
  const std::vector<size_t> sections = section_offsets(b);
  ASSERT_EQ(sections.size(), 6u);
  for (size_t cut : sections) {
    for (size_t extra : {size_t{0}, size_t{4}, size_t{16}, size_t{20}}) {
      Bytes t(b.begin(), b.begin() + static_cast<long>(cut + extra));
      t.resize(t.size() + 32);
      reseal(t);
      const std::string e = parse_error(t);
      EXPECT_FALSE(e.empty()) << "cut at " << cut << "+" << extra;
      EXPECT_TRUE(e.find("truncated") != std::string::npos || e.find("expected the") != std::string::npos) << e;
    }
  }
}

TEST(SnapshotFormat, BitFlipsAreCaughtByTheChecksum) {
  const Bytes b = sample_bytes();
  for (size_t byte = 0; byte < b.size(); byte += 7) {
    Bytes t = b;
    t[byte] ^= static_cast<uint8_t>(1u << (byte % 8));
    const std::string e = parse_error(t);
    ASSERT_FALSE(e.empty()) << "flip at " << byte;
  }
  Bytes t = b;
  t[b.size() / 2] ^= 1;
  EXPECT_NE(parse_error(t).find("checksum mismatch"), std::string::npos);
}

TEST(SnapshotFormat, BitFlipsWithARepairedChecksumNeverEscapeTheBounds) {
  const Bytes b = sample_bytes();
  std::mt19937 rng(20261202);
  int refused = 0, accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    Bytes t = b;
    const int n_flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n_flips; ++k) {
      const size_t at = 8 + rng() % (t.size() - 8 - 32);  // past the magic
      t[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    reseal(t);
    auto parsed = parse_snapshot(t.data(), t.size());
    if (!parsed.is_ok()) { ++refused; continue; }
    ++accepted;  // a flip in memory or tensor bytes is still a valid file
    expect_bounded(parsed.value(), t);
  }
  EXPECT_GT(refused, 200);
  EXPECT_GT(accepted, 200);
}

TEST(SnapshotFormat, HugeCountsAreRefusedBeforeAnythingIsReserved) {
  const Bytes b = sample_bytes();
  const std::vector<size_t> s = section_offsets(b);
  struct Case { size_t at; bool wide; uint64_t value; const char* expect; };
  const Case cases[] = {
      {s[0] + 16 + 8, true, uint64_t{1} << 60, "chunks cannot fit"},      // n_chunks
      {s[0] + 16 + 4, false, 0xffffffffu, "over 65535"},                  // pages
      {s[1] + 16, false, 0xffffffffu, "over the limit"},                  // mappings
      {s[2] + 16, false, 0x00ffffffu, "over the limit"},                  // globals
      {s[2] + 16, false, 1000, "cannot fit"},                             // globals, under the cap
      {s[3] + 16, false, 0x0000ffffu, "cannot fit"},                      // tables
      {s[3] + 16 + 4 + 4, false, 0xffffffffu, "cannot fit"},              // table 0 size
      {s[4] + 16 + 4, false, 0x7fffffffu, "over the limit"},              // n_slots
      {s[4] + 16 + 12, false, 5, "over the limit"},                       // n_free (of 4 slots)
      {s[0] + 16 + 16 + 8, true, uint64_t{1} << 62, "outside the memory"},  // chunk 0 length
  };
  for (const Case& c : cases) {
    Bytes t = b;
    if (c.wide) put_u64(t, c.at, c.value); else put_u32(t, c.at, static_cast<uint32_t>(c.value));
    reseal(t);
    const std::string e = parse_error(t);
    EXPECT_NE(e.find(c.expect), std::string::npos) << "at " << c.at << ": " << e;
  }
  // A path length far past the cap.
  Bytes t = b;
  put_u32(t, s[1] + 16 + 4 + 24 + 32, 0x7fffffffu);
  reseal(t);
  EXPECT_NE(parse_error(t).find("over 4096"), std::string::npos) << parse_error(t);
}

TEST(SnapshotFormat, OverlappingUnalignedAndOutOfRangeChunksAreRefused) {
  Sample s;
  fill_sample(s);
  auto refuse = [&](std::vector<SnapshotChunk> chunks, const char* expect) {
    SnapshotImage im = s.image;
    im.chunks = std::move(chunks);
    const std::string e = parse_error(encode(im));
    EXPECT_NE(e.find(expect), std::string::npos) << e;
  };
  const uint8_t* p = s.memory.data();
  refuse({{0, 8192, p}, {4096, 4096, p}}, "overlaps or precedes");
  refuse({{8192, 4096, p}, {0, 4096, p}}, "overlaps or precedes");
  refuse({{100, 4096, p}}, "granules");
  refuse({{0, 100, p}}, "granules");
  refuse({{131072, 4096, p}}, "outside the memory");
  refuse({{65536 + 4096, 4096, p}}, "overlaps a saved memory chunk");  // under the mapping
  SnapshotImage im = s.image;
  im.mappings[0].guest_offset = 131072 - 4096;  // runs past the end
  EXPECT_NE(parse_error(encode(im)).find("outside the memory"), std::string::npos);
  im = s.image;
  im.mappings.push_back(im.mappings[0]);
  EXPECT_NE(parse_error(encode(im)).find("overlap"), std::string::npos);
}

TEST(SnapshotFormat, MalformedRecordsAreRefusedByName) {
  Sample s;
  fill_sample(s);
  auto refuse = [&](auto edit, const char* expect) {
    SnapshotImage im = s.image;
    edit(im);
    const std::string e = parse_error(encode(im));
    EXPECT_NE(e.find(expect), std::string::npos) << e;
  };
  refuse([](SnapshotImage& im) { im.api.tensors[0].handle = 9; }, "not a handle");
  refuse([](SnapshotImage& im) { im.api.tensors[1].handle = 1; }, "repeated");
  refuse([](SnapshotImage& im) { im.api.tensors[1].handle = 2; }, "repeated or free");
  refuse([](SnapshotImage& im) { im.api.tensors[1].n_bytes = 63; }, "byte count");
  refuse([](SnapshotImage& im) { im.api.tensors[1].dtype = 99; }, "unknown dtype");
  refuse([](SnapshotImage& im) { im.api.tensors[0].guest_offset = 131072 - 32; }, "outside the memory");
  refuse([](SnapshotImage& im) { im.api.tensors[0].n_dims = 0; }, "dimensions");
  refuse([](SnapshotImage& im) { im.api.tensors[2].alias_of = 2; }, "no earlier tensor");
  refuse([](SnapshotImage& im) { im.api.tensors[1].alias_of = 4; }, "no earlier tensor");
  refuse([](SnapshotImage& im) { im.api.tensors[2].alias_of = 1; }, "does not match");
  refuse([](SnapshotImage& im) { std::swap(im.api.tensors[0], im.api.tensors[1]); }, "not ascending");
  refuse([](SnapshotImage& im) { im.api.free_handles = {2, 2}; }, "free handle");
  refuse([](SnapshotImage& im) { im.api.sequences = {7}; }, "sequence id");
  refuse([](SnapshotImage& im) { im.recorded[0].id = 5; }, "not a sequence of the host API");
  refuse([](SnapshotImage& im) { im.recorded.push_back(im.recorded[0]); }, "not ascending");
  refuse([](SnapshotImage& im) { im.recorded.push_back(im.recorded[0]), im.recorded.push_back(im.recorded[0]); },
         "3 recorded sequences is over the limit of 2");
  refuse([](SnapshotImage& im) { im.recorded[0].ops.clear(); }, "has no ops");
  refuse([](SnapshotImage& im) { im.recorded[0].ops[0].op = kMaxSnapshotOpCode + 1; }, "op code 256 is out of range");
  refuse([](SnapshotImage& im) { im.recorded[0].ops[0].n_handles = 5; }, "with 5 operands");
  refuse([](SnapshotImage& im) { im.recorded[0].ops[0].n_handles = 0; }, "with 0 operands");
  refuse([](SnapshotImage& im) { im.recorded[0].ops[0].handles[1] = 5; }, "outside the handle table");
  refuse([](SnapshotImage& im) { im.recorded[0].ops[0].handles[2] = 1; }, "outside the handle table");
  refuse([](SnapshotImage& im) { im.recorded[0].ops[0].handles[0] = 0; }, "outside the handle table");
  refuse([](SnapshotImage& im) { im.globals[0].type = 'v'; }, "no value type");
  refuse([](SnapshotImage& im) { std::swap(im.globals[0], im.globals[1]); }, "ascending");
  refuse([](SnapshotImage& im) { im.globals[0].bits = uint64_t{1} << 33; }, "more than 32 bits");
  refuse([](SnapshotImage& im) { im.tables[1].entries[0] = 0; }, "non-null");
  refuse([](SnapshotImage& im) { im.tables[0].elem_type = 'i'; }, "neither funcref");
  refuse([](SnapshotImage& im) { im.mappings[0].path = std::string("a\0b", 3); }, "NUL");
  refuse([](SnapshotImage& im) { im.mappings[0].file_offset = 100; }, "granule-aligned");
  refuse([](SnapshotImage& im) { im.has_memory = false; }, "pages without a memory");
}

// A version 1 file (before recorded ops were kept) ends after the host API
// section: it still parses, with every sequence to be dropped on restore.
TEST(SnapshotFormat, VersionOneParsesWithoutRecordedOps) {
  Sample s;
  fill_sample(s);
  SnapshotImage im = s.image;
  im.recorded.clear();
  Bytes b = encode(im);
  const size_t trailer = b.size() - 32;
  b.erase(b.begin() + long(trailer - 20), b.begin() + long(trailer));  // section 6: header + u32 0
  put_u32(b, 8, 1);
  uint64_t content = 0;
  std::memcpy(&content, b.data() + 80, 8);
  content -= 20;
  std::memcpy(b.data() + 80, &content, 8);
  reseal(b);
  auto parsed = parse_snapshot(b.data(), b.size());
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  EXPECT_TRUE(parsed.value().recorded.empty());
  EXPECT_EQ(parsed.value().api.sequences, (std::vector<int32_t>{1, 2}));
}

TEST(SnapshotFormat, HeaderProblemsAreNamed) {
  const Bytes b = sample_bytes();
  Bytes t = b;
  t[0] = 'X';
  EXPECT_NE(parse_error(t).find("bad magic"), std::string::npos);
  t = b;
  put_u32(t, 8, 3);
  reseal(t);
  EXPECT_NE(parse_error(t).find("format version 3"), std::string::npos);
  t = b;
  t.push_back(0);
  EXPECT_NE(parse_error(t).find("trailing bytes"), std::string::npos);
  t = b;
  t[16] = 'Z';  // the module hash
  reseal(t);
  EXPECT_NE(parse_error(t).find("not hex"), std::string::npos);
  EXPECT_NE(parse_error(Bytes(10, 0)).find("too short"), std::string::npos);
}

}  // namespace
}  // namespace samepage
