#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "samepage/linear_memory.h"
#include "test_support.h"

namespace samepage {
namespace {

TEST(LinearMemory, BaseNeverMovesAcrossGrows) {
  auto memory = LinearMemory::create(1, 4096);
  ASSERT_TRUE(memory.is_ok()) << memory.message();
  LinearMemory& m = *memory.value();
  uint8_t* const base = m.base();
  m.base()[0] = 0x5a;
  for (uint32_t step = 1; step <= 64; step *= 2) {
    const uint32_t before = m.pages();
    ASSERT_EQ(m.grow(step), before);
    EXPECT_EQ(m.base(), base);
    m.base()[m.size_bytes() - 1] = static_cast<uint8_t>(step);  // the new top is writable
  }
  EXPECT_EQ(m.base()[0], 0x5a);  // contents survive growth
  EXPECT_EQ(m.pages(), 1u + 1 + 2 + 4 + 8 + 16 + 32 + 64);
}

TEST(LinearMemory, DefaultAlignmentIs64KiB) {
  auto memory = LinearMemory::create(1, 10);
  ASSERT_TRUE(memory.is_ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(memory.value()->base()) % (64 * 1024), 0u);
}

TEST(LinearMemory, AlignmentIsConfigurable) {
  MemoryOptions options;
  options.alignment_bytes = 2u << 20;
  auto memory = LinearMemory::create(1, 10, options);
  ASSERT_TRUE(memory.is_ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(memory.value()->base()) % (2u << 20), 0u);
  options.alignment_bytes = 3000;  // not a power of two
  auto bad = LinearMemory::create(1, 10, options);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.message().find("alignment"), std::string::npos);
}

TEST(LinearMemory, GrowthIsZeroFilled) {
  auto memory = LinearMemory::create(0, 100);
  ASSERT_TRUE(memory.is_ok());
  LinearMemory& m = *memory.value();
  ASSERT_EQ(m.grow(3), 0u);
  for (uint64_t i = 0; i < m.size_bytes(); i += 511) ASSERT_EQ(m.base()[i], 0) << i;
}

TEST(LinearMemory, MaximumIsHonoured) {
  auto memory = LinearMemory::create(2, 5);
  ASSERT_TRUE(memory.is_ok());
  LinearMemory& m = *memory.value();
  EXPECT_EQ(m.grow(3), 2u);
  EXPECT_EQ(m.grow(1), kGrowFailed);
  EXPECT_EQ(m.pages(), 5u);
  EXPECT_EQ(m.grow(0), 5u);
  auto too_big = LinearMemory::create(6, 5);
  EXPECT_FALSE(too_big.is_ok());
}

TEST(LinearMemory, ReservationCoversAddressSpaceAndGuard) {
  auto memory = LinearMemory::create(1, 1);
  ASSERT_TRUE(memory.is_ok());
  LinearMemory& m = *memory.value();
  EXPECT_GE(m.reserved_bytes(), uint64_t{8} << 30);
  EXPECT_TRUE(m.contains(m.base() + (uint64_t{6} << 30)));
  EXPECT_FALSE(m.contains(m.base() + m.reserved_bytes()));
}

TEST(LinearMemory, ListenersHearAboutGrowth) {
  auto memory = LinearMemory::create(1, 10);
  ASSERT_TRUE(memory.is_ok());
  uint64_t seen_old = 0, seen_new = 0;
  memory.value()->add_event_listener([&](const MemoryEvent& e) {
    if (e.kind != MemoryEventKind::MemoryEvent_grow) return;
    seen_old = e.offset;
    seen_new = e.offset + e.n_bytes;
  });
  ASSERT_EQ(memory.value()->grow(2), 1u);
  EXPECT_EQ(seen_old, kWasmPageBytes);
  EXPECT_EQ(seen_new, 3 * kWasmPageBytes);
}

std::string write_random_file(const std::string& dir, uint64_t n_bytes, uint32_t seed) {
  const std::string path = dir + "/weights.bin";
  std::vector<uint32_t> data(n_bytes / 4);
  std::mt19937 rng(seed);
  for (uint32_t& x : data) x = rng();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(n_bytes));
  return path;
}

TEST(LinearMemory, FileMappingAddsNoAnonymousMemory) {
  const uint64_t n_bytes = 64ull << 20;
  const std::string dir = test::make_temp_dir();
  const std::string path = write_random_file(dir, n_bytes, 7);
  auto memory = LinearMemory::create(static_cast<uint32_t>((n_bytes * 2) / kWasmPageBytes), 4096);
  ASSERT_TRUE(memory.is_ok());
  LinearMemory& m = *memory.value();
  const uint64_t offset = 1ull << 20;

  const ProcessMemory before = read_process_memory();
  ASSERT_TRUE(m.map_file(offset, path, 0, n_bytes).is_ok());
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n_bytes; i += 4096) sum += m.base()[offset + i];  // fault every page in
  const ProcessMemory after = read_process_memory();

  const int64_t anon_delta = static_cast<int64_t>(after.rss_anon_bytes) - static_cast<int64_t>(before.rss_anon_bytes);
  EXPECT_LT(anon_delta, 1 << 20) << "file mapping created anonymous pages";
  EXPECT_GT(after.rss_file_bytes, before.rss_file_bytes + n_bytes / 2) << "pages should be file-backed";
  EXPECT_GT(sum, 0u);

  // The guest sees the file's bytes.
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> head(4096);
  in.read(reinterpret_cast<char*>(head.data()), 4096);
  EXPECT_EQ(std::memcmp(head.data(), m.base() + offset, 4096), 0);
  ASSERT_EQ(m.file_mappings().size(), 1u);

  // Unmapping puts zeroed writable pages back.
  ASSERT_TRUE(m.unmap_file(offset).is_ok());
  EXPECT_EQ(m.base()[offset], 0);
  m.base()[offset] = 1;
  std::system(("rm -rf " + dir).c_str());
}

// A mapping keeps where it came from (file offset, preopen origin) itself,
// so snapshots read it there; a later mapping at the same offset inherits none.
TEST(LinearMemory, FileMappingKeepsItsFileOffsetAndOrigin) {
  const std::string dir = test::make_temp_dir();
  const std::string path = write_random_file(dir, 1 << 16, 5);
  auto memory = LinearMemory::create(4, 4096);
  ASSERT_TRUE(memory.is_ok());
  LinearMemory& m = *memory.value();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(m.map_file(8192, fd, 4096, 5000, "model", {"/models", "a/model.bin"}).is_ok());
  ASSERT_EQ(m.file_mappings().size(), 1u);
  const FileMapping& f = m.file_mappings()[0];
  EXPECT_EQ(f.file_offset, 4096u);
  EXPECT_EQ(f.n_bytes, 5000u);
  EXPECT_EQ(f.origin.preopen, "/models");
  EXPECT_EQ(f.origin.path, "a/model.bin");
  ASSERT_TRUE(m.unmap_file(8192).is_ok());
  ASSERT_TRUE(m.map_file(8192, fd, 0, 4096, "model").is_ok());
  EXPECT_EQ(m.file_mappings()[0].file_offset, 0u);
  EXPECT_TRUE(m.file_mappings()[0].origin.preopen.empty());
  ::close(fd);
  std::system(("rm -rf " + dir).c_str());
}

TEST(LinearMemory, FileMappingRejectsBadRanges) {
  const std::string dir = test::make_temp_dir();
  const std::string path = write_random_file(dir, 1 << 20, 3);
  auto memory = LinearMemory::create(32, 64);  // 2 MiB
  ASSERT_TRUE(memory.is_ok());
  LinearMemory& m = *memory.value();
  EXPECT_FALSE(m.map_file(100, path, 0, 4096).is_ok());             // unaligned guest offset
  EXPECT_FALSE(m.map_file(0, path, 100, 4096).is_ok());             // unaligned file offset
  EXPECT_FALSE(m.map_file(0, path, 0, 2u << 20).is_ok());           // past the end of the file
  EXPECT_FALSE(m.map_file(2u << 20, path, 0, 4096).is_ok());        // past committed memory
  EXPECT_FALSE(m.map_file(0, dir + "/missing", 0, 4096).is_ok());   // no such file
  ASSERT_TRUE(m.map_file(0, path, 0, 1 << 20).is_ok());
  EXPECT_FALSE(m.map_file(4096, path, 0, 4096).is_ok());            // overlaps
  EXPECT_FALSE(m.unmap_file(8192).is_ok());
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace samepage
