// Findings 7 and 8 of the sandbox-hardening issue: every host resource a
// guest can make the host spend is bounded, and const protection never stops
// silently. In-process (no guest code), so scripts/test.sh also runs these
// under AddressSanitizer.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <wasm-rt.h>

#include "engine/wasm_rt_memory.h"
#include "host_api_fixture.h"
#include "wasi_fixture.h"

namespace samepage {
namespace {

using test::FakeGuest;
namespace w = samepage::wasi;
constexpr uint32_t kDefaultConstRanges = 4096;  // GuestLimits{}.const_ranges
constexpr int32_t kNoMemory = -7;  // SP_ERR_NO_MEMORY

TEST(GuestLimits, TableGrowPastTheLimitFailsWithoutAllocating) {
  // No instance announced: the table gets the default limits (2^20 elements).
  wasm_rt_funcref_table_t table{};
  wasm_rt_allocate_funcref_table(&table, 1, 0xffffffffu);
  const wasm_rt_funcref_t null_ref{};
  // 2^21 elements is 48 MiB that realloc would happily give: the limit refuses it.
  EXPECT_EQ(wasm_rt_grow_funcref_table(&table, 1u << 21, null_ref), 0xffffffffu);
  EXPECT_EQ(wasm_rt_grow_funcref_table(&table, 1u << 31, null_ref), 0xffffffffu);
  EXPECT_EQ(table.size, 1u);
  EXPECT_EQ(wasm_rt_grow_funcref_table(&table, 10, null_ref), 1u);
  EXPECT_EQ(table.size, 11u);
  wasm_rt_free_funcref_table(&table);
}

uint64_t open_fds_now() {
  uint64_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (dir != nullptr && ::readdir(dir) != nullptr) ++n;
  if (dir != nullptr) ::closedir(dir);
  return n - 3;  // ".", ".." and the directory's own fd
}

// One page-aligned f32 view of `n_pages` pages at guest offset `at`.
int32_t page_view(FakeGuest& g, uint32_t shape_at, uint32_t at, uint32_t n_pages, int32_t flags) {
  g.at<uint32_t>(shape_at)[0] = n_pages * 1024;
  return static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, static_cast<uint32_t>(flags)));
}

TEST(GuestLimits, ConstViewsPastTheRangeLimitAreRefusedAndOthersStillInstantiate) {
  ASSERT_EQ(host_page_bytes(), 4096u);
  constexpr uint32_t kViews = 50'000;
  // Every other page, so no two views touch: each would be a mapping of its own.
  FakeGuest g(MemoryMode::MemoryMode_shared, (2 * kViews + 64) * 4096 / 65536 + 2);
  const uint32_t shape_at = g.alloc(16);
  const uint32_t first = 2 * 65536;
  uint32_t n_ok = 0, n_refused = 0;
  std::string refusal;
  for (uint32_t i = 0; i < kViews; ++i) {
    const int32_t h = page_view(g, shape_at, first + 2 * 4096 * i, 1, SP_CONST);
    if (h > 0) {
      ++n_ok;
      EXPECT_FALSE(g.memory().is_writable(first + 2 * 4096 * i, 4));
    } else {
      ASSERT_EQ(h, kNoMemory) << g.last_error();
      if (refusal.empty()) refusal = g.last_error();
      ++n_refused;
      EXPECT_TRUE(g.memory().is_writable(first + 2 * 4096 * i, 4096));
    }
  }
  EXPECT_EQ(n_ok, kDefaultConstRanges);
  EXPECT_EQ(n_refused, kViews - n_ok);
  EXPECT_NE(refusal.find("--max-const-ranges"), std::string::npos) << refusal;
  // The process still has mappings to spare: another guest can be created.
  auto other = LinearMemory::create(1, 16);
  ASSERT_TRUE(other.is_ok()) << other.message();
  EXPECT_EQ(other.value()->grow(1), 1u);
}

TEST(GuestLimits, ManyConstViewsOfOneBlobShareOneRange) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 64);
  const uint32_t shape_at = g.alloc(16);
  const uint32_t blob = 4 * 65536;
  std::vector<int32_t> handles;
  // 20,000 views of one 8-page blob and of each of its pages: all one range.
  for (int i = 0; i < 10'000; ++i) handles.push_back(page_view(g, shape_at, blob, 8, SP_CONST));
  for (int i = 0; i < 10'000; ++i) handles.push_back(page_view(g, shape_at, blob + 4096 * (i % 8), 1, SP_CONST));
  for (int32_t h : handles) ASSERT_GT(h, 0) << g.last_error();
  EXPECT_EQ(g.memory().protected_runs(), 1u);
  const uint32_t info_at = g.alloc(48);
  ASSERT_EQ(Z_samepageZ_tensor_info(g.ctx(), static_cast<uint32_t>(handles[0]), info_at), 0u);
  EXPECT_EQ(g.at<int32_t>(info_at)[11], 1);  // write_protected
  EXPECT_TRUE(g.memory().is_writable(blob + 8 * 4096, 4096));
  for (int32_t h : handles) ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), static_cast<uint32_t>(h)), 0u) << g.last_error();
  EXPECT_TRUE(g.memory().is_writable(blob, 8 * 4096));
  g.at<float>(blob)[0] = 1.0f;  // writable again for the guest too
}

TEST(GuestLimits, ConstTensorIsNeverAnOutput) {
  FakeGuest g;
  std::mt19937 rng(7);
  // A const view smaller than a page: not protected, and still never written.
  uint32_t c_at = 0;
  const uint32_t shape_at = g.alloc(16);
  g.at<uint32_t>(shape_at)[0] = 4;
  c_at = g.alloc(16);
  for (int i = 0; i < 4; ++i) g.at<float>(c_at)[i] = 42.0f;
  const int32_t tc = static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), c_at, 0, 1, shape_at, SP_CONST));
  ASSERT_GT(tc, 0) << g.last_error();
  EXPECT_TRUE(g.memory().is_writable(c_at, 16));  // not whole pages: not protected
  const uint32_t info_at = g.alloc(48);
  ASSERT_EQ(Z_samepageZ_tensor_info(g.ctx(), static_cast<uint32_t>(tc), info_at), 0u);
  EXPECT_EQ(g.at<int32_t>(info_at)[11], 0);  // and says so: write_protected = 0
  const int32_t tx = g.random_f32({4}, rng);
  const int32_t alias = static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), c_at, 0, 1, shape_at, 0));
  ASSERT_GT(alias, 0);
  const uint32_t c = static_cast<uint32_t>(tc), x = static_cast<uint32_t>(tx);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_copy(g.ctx(), c, x)), SP_ERR_ARG);
  EXPECT_NE(g.last_error().find("const"), std::string::npos) << g.last_error();
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_scale(g.ctx(), c, x, 2.0f)), SP_ERR_ARG);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_add(g.ctx(), c, x, x)), SP_ERR_ARG);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_softmax(g.ctx(), c, x)), SP_ERR_ARG);
  // Not through a plain view of the same bytes either, nor argmax's results.
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_copy(g.ctx(), static_cast<uint32_t>(alias), x)), SP_ERR_ARG);
  const uint32_t i32_shape = g.alloc(4);
  g.at<uint32_t>(i32_shape)[0] = 1;
  const uint32_t idx_alias =
      Z_samepageZ_tensor_view(g.ctx(), c_at, static_cast<uint32_t>(DType_i32), 1, i32_shape, 0);
  ASSERT_GT(static_cast<int32_t>(idx_alias), 0) << g.last_error();
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_argmax(g.ctx(), idx_alias, x)), SP_ERR_ARG);
  // Nor by replay: refused when recorded.
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_copy(g.ctx(), c, x)), SP_ERR_ARG);
  ASSERT_GT(static_cast<int32_t>(Z_samepageZ_record_end(g.ctx())), 0);
  EXPECT_EQ(Z_samepageZ_sync(g.ctx(), c), 0u);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_stats(g.ctx(), c_at)), SP_ERR_ARG);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(g.at<float>(c_at)[i], 42.0f);
  // Once the const view is gone, the bytes are the guest's to compute into again.
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), c), 0u);
  EXPECT_EQ(Z_samepageZ_copy(g.ctx(), static_cast<uint32_t>(alias), x), 0u) << g.last_error();
}

uint64_t max_map_count() {
  uint64_t n = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    unsigned long long v = 0;
    if (std::fscanf(f, "%llu", &v) == 1) n = v;
    std::fclose(f);
  }
  return n;
}

// Views at every other page of g from `first` until one is refused; returns
// the accepted handles and the refusal.
std::vector<int32_t> views_until_refused(FakeGuest& g, uint32_t first, uint32_t max_views, std::string* refusal,
                                         uint32_t* refused_at) {
  const uint32_t shape_at = g.alloc(16);
  std::vector<int32_t> handles;
  for (uint32_t i = 0; i < max_views; ++i) {
    const int32_t h = page_view(g, shape_at, first + 2 * 4096 * i, 1, SP_CONST);
    if (h > 0) {
      handles.push_back(h);
      continue;
    }
    EXPECT_EQ(h, kNoMemory) << g.last_error();
    *refusal = g.last_error();
    *refused_at = first + 2 * 4096 * i;
    break;
  }
  return handles;
}

TEST(GuestLimits, FailedMprotectRefusesTheViewAndLeavesNoTrace) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "at the kernel's map count ASan's own allocator fails first; the plain build runs this";
#endif
  const uint64_t map_count = max_map_count();
  if (map_count > 200'000) GTEST_SKIP() << "vm.max_map_count is " << map_count;
  // Something else in the process has used most of the kernel's mappings.
  const uint64_t n_burn = map_count / 2 - 1000;
  uint8_t* burn = static_cast<uint8_t*>(
      mmap(nullptr, 2 * n_burn * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  ASSERT_NE(burn, MAP_FAILED);
  for (uint64_t i = 0; i < n_burn; ++i) ASSERT_EQ(mprotect(burn + 2 * 4096 * i, 4096, PROT_READ), 0) << i;
  GuestLimits limits;
  limits.const_ranges = 1'000'000;
  FakeGuest g(MemoryMode::MemoryMode_shared, 2 * 4000 * 4096 / 65536 + 4, std::make_shared<GuestAccount>(limits));
  std::string refusal;
  uint32_t refused_at = 0;
  std::vector<int32_t> handles = views_until_refused(g, 2 * 65536, 4000, &refusal, &refused_at);
  munmap(burn, 2 * n_burn * 4096);
  ASSERT_FALSE(refusal.empty()) << handles.size() << " views all protected";
  EXPECT_NE(refusal.find("mprotect"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("max_map_count"), std::string::npos) << refusal;
  // The refused view left its page writable, to the host's checks and in fact.
  EXPECT_TRUE(g.memory().is_writable(refused_at, 4096));
  g.at<uint8_t>(refused_at)[0] = 1;
  for (int32_t h : handles) EXPECT_EQ(Z_samepageZ_tensor_free(g.ctx(), static_cast<uint32_t>(h)), 0u) << g.last_error();
  EXPECT_EQ(g.memory().protected_runs(), 0u);
}

TEST(GuestLimits, AllGuestsTogetherStayUnderTheMapCount) {
  const uint64_t process_limit = max_map_count() / 4;
  if (process_limit > 50'000) GTEST_SKIP() << "vm.max_map_count is " << max_map_count();
  GuestLimits limits;
  limits.const_ranges = 1'000'000;  // each guest's own limit is not what stops them
  const uint32_t n_pages = static_cast<uint32_t>(2 * (process_limit + 8) * 4096 / 65536 + 4);
  FakeGuest a(MemoryMode::MemoryMode_shared, n_pages, std::make_shared<GuestAccount>(limits));
  FakeGuest b(MemoryMode::MemoryMode_shared, 64, std::make_shared<GuestAccount>(limits));
  std::string refusal;
  uint32_t refused_at = 0;
  std::vector<int32_t> handles = views_until_refused(a, 2 * 65536, static_cast<uint32_t>(process_limit + 8), &refusal,
                                                     &refused_at);
  EXPECT_EQ(handles.size(), process_limit);
  EXPECT_NE(refusal.find("vm.max_map_count"), std::string::npos) << refusal;
  // Another guest is refused too, but can still be created and run.
  std::string refusal_b;
  EXPECT_TRUE(views_until_refused(b, 2 * 65536, 1, &refusal_b, &refused_at).empty());
  auto other = LinearMemory::create(1, 16);
  ASSERT_TRUE(other.is_ok()) << other.message();
  EXPECT_EQ(other.value()->grow(1), 1u);
  // Once the first guest lets go, the second gets its ranges.
  for (int32_t h : handles) ASSERT_EQ(Z_samepageZ_tensor_free(a.ctx(), static_cast<uint32_t>(h)), 0u);
  EXPECT_EQ(views_until_refused(b, 2 * 65536, 1, &refusal_b, &refused_at).size(), 1u);
}

TEST(GuestLimits, HostBytesAreChargedToTheGuestAndReleased) {
  GuestLimits limits;
  limits.host_bytes = 1 << 20;
  auto account = std::make_shared<GuestAccount>(limits);
  FakeGuest g(MemoryMode::MemoryMode_copy, 64, account);
  const uint32_t shape_at = g.alloc(16);
  g.at<uint32_t>(shape_at)[0] = 160 * 1024;  // 640 KiB of f32
  const int32_t a = static_cast<int32_t>(Z_samepageZ_tensor_alloc(g.ctx(), 0, 1, shape_at, 0));
  ASSERT_GT(a, 0) << g.last_error();
  EXPECT_EQ(account->used_bytes(), 640u * 1024);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_tensor_alloc(g.ctx(), 0, 1, shape_at, 0)), kNoMemory);
  EXPECT_NE(g.last_error().find("--max-host-mb"), std::string::npos) << g.last_error();
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), static_cast<uint32_t>(a)), 0u);
  EXPECT_EQ(account->used_bytes(), 0u);
  // Copy-mode staging of two 384 KiB views fits, charged when each view is
  // made (the backend allocates it then); a third passes the limit.
  g.at<uint32_t>(shape_at)[0] = 96 * 1024;
  std::vector<uint32_t> views;
  for (int i = 0; i < 2; ++i) {
    const uint32_t at = g.alloc(384 * 1024);
    views.push_back(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, 0));
    ASSERT_GT(static_cast<int32_t>(views.back()), 0) << g.last_error();
  }
  EXPECT_EQ(Z_samepageZ_copy(g.ctx(), views[0], views[1]), 0u) << g.last_error();
  EXPECT_EQ(account->used_bytes(), 768u * 1024);
  EXPECT_EQ(static_cast<int32_t>(Z_samepageZ_tensor_view(g.ctx(), g.alloc(384 * 1024), 0, 1, shape_at, 0)), kNoMemory);
  EXPECT_NE(g.last_error().find("staging"), std::string::npos) << g.last_error();
  EXPECT_EQ(account->used_bytes(), 768u * 1024);
  // Recordings are charged too: the rest of the budget runs out long before
  // the op-count cap.
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  int n_recorded = 0;
  while (Z_samepageZ_copy(g.ctx(), views[0], views[1]) == 0 && n_recorded < 100'000) ++n_recorded;
  EXPECT_LT(n_recorded, 100'000);
  EXPECT_NE(g.last_error().find("--max-host-mb"), std::string::npos) << g.last_error();
  EXPECT_GT(static_cast<int32_t>(Z_samepageZ_record_end(g.ctx())), 0);
}

TEST(GuestLimits, TablesAreChargedToTheirInstance) {
  GuestLimits limits;
  limits.table_elements = 100;
  MemoryScope scope;
  scope.account = std::make_shared<GuestAccount>(limits);
  memory_scope_enter(&scope);
  wasm_rt_funcref_table_t table{};
  wasm_rt_allocate_funcref_table(&table, 10, 0xffffffffu);
  memory_scope_leave();
  const wasm_rt_funcref_t null_ref{};
  EXPECT_EQ(wasm_rt_grow_funcref_table(&table, 90, null_ref), 10u);  // grow runs outside the scope
  EXPECT_EQ(wasm_rt_grow_funcref_table(&table, 1, null_ref), 0xffffffffu);
  EXPECT_EQ(table.size, 100u);
  EXPECT_EQ(scope.account->used_table_elements(), 100u);
  EXPECT_EQ(scope.account->used_bytes(), 100 * sizeof(wasm_rt_funcref_t));
  wasm_rt_free_funcref_table(&table);
  EXPECT_EQ(scope.account->used_table_elements(), 0u);
  EXPECT_EQ(scope.account->used_bytes(), 0u);
}

class WasiLimits : public test::WasiFixture {};

TEST_F(WasiLimits, PollScratchIsChargedToTheGuest) {
  GuestLimits limits;
  limits.host_bytes = 4096;
  GuestAccount account(limits);
  auto wasi = WasiContext::create(WasiConfig{}, limits, &account);
  ASSERT_TRUE(wasi.is_ok()) << wasi.message();
  GuestContext ctx = ctx_;
  ctx.wasi = wasi.value().get();
  const uint32_t nevents = test::kGuestMemoryBytes - 4;
  // 1,000 subscriptions need about 100 KiB of host scratch: past 4 KiB.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx, 0, 0, 1000, nevents), w::kErrnoNomem);
  EXPECT_EQ(account.used_bytes(), 0u);
  // One clock subscription fits, and its scratch is given back.
  store<uint32_t>(16, w::kClockMonotonic);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx, 0, 64, 1, nevents), w::kErrnoSuccess);
  EXPECT_EQ(load<uint32_t>(nevents), 1u);
  EXPECT_EQ(account.used_bytes(), 0u);
}

TEST_F(WasiLimits, DirectoryListingsAreChargedToTheGuest) {
  for (int i = 0; i < 200; ++i) test::write_host_file(sandbox_ + "/file_with_a_longish_name_" + std::to_string(i), "");
  GuestLimits limits;
  limits.host_bytes = 4096;
  GuestAccount account(limits);
  WasiConfig config;
  config.preopens = {{sandbox_, "/sandbox", true}};
  auto wasi = WasiContext::create(config, limits, &account);
  ASSERT_TRUE(wasi.is_ok()) << wasi.message();
  GuestContext ctx = ctx_;
  ctx.wasi = wasi.value().get();
  const uint32_t buf = 4096, used = 64;
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_readdir(&ctx, test::kSandboxFd, buf, 1024, 0, used), w::kErrnoNomem);
  EXPECT_EQ(account.used_bytes(), 0u);
  // With room for it, the listing is charged while the fd keeps it, and released with the fd.
  GuestLimits roomy;
  GuestAccount roomy_account(roomy);
  auto wasi2 = WasiContext::create(config, roomy, &roomy_account);
  ASSERT_TRUE(wasi2.is_ok());
  ctx.wasi = wasi2.value().get();
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_readdir(&ctx, test::kSandboxFd, buf, 1024, 0, used), w::kErrnoSuccess);
  EXPECT_GT(roomy_account.used_bytes(), 200u * 26);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_fd_close(&ctx, test::kSandboxFd), w::kErrnoSuccess);
  EXPECT_EQ(roomy_account.used_bytes(), 0u);
}

TEST_F(WasiLimits, FdCapIsTheSmallerOfTheFlagAndWhatTheHostCanSpare) {
  GuestLimits limits;
  limits.open_fds = 5;
  auto wasi = WasiContext::create(WasiConfig{}, limits);
  ASSERT_TRUE(wasi.is_ok()) << wasi.message();
  EXPECT_EQ(wasi.value()->max_fds(), 5u);
  limits.open_fds = 2;  // fewer than stdio needs
  auto too_few = WasiContext::create(WasiConfig{}, limits);
  ASSERT_FALSE(too_few.is_ok());
  EXPECT_NE(too_few.message().find("--max-fds"), std::string::npos) << too_few.message();
}

TEST_F(WasiLimits, PollRefusesHugeCountsBeforeAllocating) {
  const uint32_t nevents = test::kGuestMemoryBytes - 4;
  store<uint32_t>(nevents, 12345);
  // In range of guest memory (20,000 zeroed clock subscriptions), but far
  // more than any guest needs: refused before a host vector is sized by it.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, 0, 0, 20'000, nevents), w::kErrnoInval);
  EXPECT_EQ(load<uint32_t>(nevents), 12345u);
  // Out of range: a fault, whatever the count.
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, 0, 0, 0xffffffffu, nevents), w::kErrnoFault);
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_poll_oneoff(&ctx_, 0, 0, 0x80000000u, nevents), w::kErrnoFault);
}

TEST(GuestLimits, StatsFailLoudlyWhenTheHostHasNoDescriptorLeft) {
  FakeGuest g;
  const uint32_t out = g.alloc(48);
  ASSERT_EQ(Z_samepageZ_stats(g.ctx(), out), 0u) << g.last_error();
  EXPECT_GT(g.at<uint64_t>(out)[0], 0u);
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit none = saved;
  const int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  none.rlim_cur = static_cast<rlim_t>(lowest_free);  // no fd left to open /proc/self/status
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &none), 0);
  const int32_t rc = static_cast<int32_t>(Z_samepageZ_stats(g.ctx(), out));
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(rc, SP_ERR_BACKEND);  // not success with zeros
  EXPECT_NE(g.last_error().find("/proc/self/status"), std::string::npos) << g.last_error();
}

TEST_F(WasiLimits, GuestFdsLeaveTheHostItsDescriptors) {
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit lowered = saved;
  lowered.rlim_cur = open_fds_now() + 48;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  struct Restore {
    rlimit r;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &r); }
  } restore{saved};

  auto wasi = WasiContext::create(WasiConfig{});
  ASSERT_TRUE(wasi.is_ok()) << wasi.message();
  // The guest opens files (as path_open does: host open, then a guest fd)
  // until its table is full; the host must never be the one that runs out.
  bool host_ran_out = false;
  for (int i = 0; i < 200; ++i) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      host_ran_out = true;
      break;
    }
    w::FdEntry entry;
    entry.host.reset(fd);
    entry.filetype = w::kFiletypeCharacterDevice;
    uint32_t guest_fd = 0;
    if (wasi.value()->fd_insert(std::move(entry), &guest_fd) == w::kErrnoMfile) break;
  }
  EXPECT_FALSE(host_ran_out) << "the guest took the host's last descriptors";
  // The host's own later opens still work: sp_stats reads /proc.
  const ProcessMemory pm = read_process_memory();
  EXPECT_GT(pm.rss_bytes, 0u);
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(probe, 0);
  if (probe >= 0) ::close(probe);
}

}  // namespace
}  // namespace samepage
