// The backend interface v2 as a backend sees it, through a recording fake
// that wraps the CPU backend: tensor identities and residencies, creation and
// release, a sequence compiled once and run with parameter blocks, sync, the
// registry, and guest-memory events in order (unmapping announced before the
// pages change).
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "host_api_fixture.h"

namespace samepage {
namespace {

using test::FakeGuest;

struct Log {
  std::vector<std::string> lines;
  std::vector<TensorDesc> created;
  std::vector<uint64_t> released;
  int n_compiles = 0, n_runs = 0, n_executes = 0;
  std::vector<int32_t> last_params;
  std::function<void(const MemoryEvent&)> on_event;  // runs when an event arrives
  bool has(const std::string& line) const { return std::find(lines.begin(), lines.end(), line) != lines.end(); }
};

class RecordingBackend final : public Backend {
 public:
  explicit RecordingBackend(Log* log) : log_(log), cpu_(std::move(create_backend("cpu")).value()) {}
  const BackendCaps& caps() const override { return cpu_->caps(); }
  Status use_host_memory(void* base, uint64_t n) override { return cpu_->use_host_memory(base, n); }
  Result<void*> tensor_create(const TensorDesc& t) override {
    log_->created.push_back(t);
    log_->lines.push_back("create " + std::to_string(t.id) + " " + residency_name(t.residency));
    return cpu_->tensor_create(t);
  }
  void tensor_release(uint64_t id) override {
    log_->released.push_back(id);
    log_->lines.push_back("release " + std::to_string(id));
    cpu_->tensor_release(id);
  }
  Status tensor_sync(uint64_t id) override {
    log_->lines.push_back("sync " + std::to_string(id));
    return Status::ok();
  }
  Status execute(const OpArgs& op) override {
    ++log_->n_executes;
    return cpu_->execute(op);
  }
  Result<std::unique_ptr<CompiledSequence>> compile(const std::vector<SequenceOp>& ops) override {
    ++log_->n_compiles;
    log_->lines.push_back("compile " + std::to_string(ops.size()) + " ops, slot " + std::to_string(ops[0].param_slot[0]));
    return Backend::compile(ops);  // the default: ops looped over execute()
  }
  Status run(CompiledSequence& seq, const int32_t* params, size_t n_params) override {
    ++log_->n_runs;
    log_->last_params.assign(params, params + n_params);
    return Backend::run(seq, params, n_params);
  }
  void memory_event(const MemoryEvent& e) override {
    log_->lines.push_back(std::string("event ") + memory_event_name(e.kind) + " " + std::to_string(e.offset) + " " +
                          std::to_string(e.n_bytes));
    if (log_->on_event) log_->on_event(e);
  }
  Status sync() override { return Status::ok(); }

 private:
  Log* log_;
  std::unique_ptr<Backend> cpu_;
};

int32_t rc_of(uint32_t r) { return static_cast<int32_t>(r); }

TEST(BackendV2, TensorsArriveWithIdentityAndResidencyAndAreReleased) {
  Log log;
  FakeGuest g(MemoryMode::MemoryMode_shared, 64, nullptr, std::make_unique<RecordingBackend>(&log));
  std::mt19937 rng(40);
  const int32_t shared = g.random_f32({16}, rng);
  const uint32_t page_at = (g.alloc(2 * 4096) + 4095) / 4096 * 4096;
  const uint32_t shape_at = g.alloc(4);
  *g.at<uint32_t>(shape_at) = 1024;
  const int32_t weights = rc_of(Z_samepageZ_tensor_view(g.ctx(), page_at, 0, 1, shape_at, SP_CONST));
  const int32_t dev = rc_of(Z_samepageZ_tensor_alloc(g.ctx(), 0, 1, shape_at, SP_DEVICE));
  ASSERT_GT(weights, 0) << g.last_error();
  ASSERT_GT(dev, 0) << g.last_error();
  ASSERT_EQ(log.created.size(), 3u);
  EXPECT_EQ(log.created[0].residency, Residency_shared);
  EXPECT_EQ(log.created[1].residency, Residency_const);
  EXPECT_EQ(log.created[1].guest_data, g.base() + page_at);
  EXPECT_EQ(log.created[2].residency, Residency_device);
  EXPECT_EQ(log.created[2].guest_data, nullptr);  // the backend allocates it
  // Ids are never reused, even when the handle is.
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), shared), 0u);
  EXPECT_EQ(log.released.back(), log.created[0].id);
  const int32_t again = g.random_f32({16}, rng);
  EXPECT_EQ(again, shared);
  EXPECT_GT(log.created.back().id, log.created[2].id);
  // sync reaches the backend for the tensor named.
  ASSERT_EQ(Z_samepageZ_sync(g.ctx(), dev), 0u);
  EXPECT_TRUE(log.has("sync " + std::to_string(log.created[2].id)));
  // A runtime tensor is zeroed.
  const uint32_t out_at = g.alloc(4096);
  const int32_t out = rc_of(Z_samepageZ_tensor_view(g.ctx(), out_at, 0, 1, shape_at, 0));
  for (int i = 0; i < 1024; ++i) g.at<float>(out_at)[i] = 3.0f;
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), out, dev), 0u) << g.last_error();
  EXPECT_EQ(g.at<float>(out_at)[1000], 0.0f);
  // Everything left is released when the API goes.
  const size_t n_released = log.released.size();
  g.end_api();
  EXPECT_EQ(log.released.size(), n_released + 4);
}

TEST(BackendV2, SequenceIsCompiledOnceAndRunWithAParameterBlock) {
  for (MemoryMode mode : {MemoryMode::MemoryMode_shared, MemoryMode::MemoryMode_copy}) {
    Log log;
    FakeGuest g(mode, 64, nullptr, std::make_unique<RecordingBackend>(&log));
    std::mt19937 rng(41);
    float* src;
    const int32_t tsrc = g.random_f32({1, 8}, rng, &src);
    uint32_t cache_at = 0;
    const int32_t cache = g.view(0, {4, 8}, 4 * 8 * 4, &cache_at);
    uint32_t idx_at = 0;
    const int32_t idx = g.view(DType_i32, {4}, 16, &idx_at);
    ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
    ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), cache, tsrc, static_cast<uint32_t>(SP_PARAM(0))), 0u) << g.last_error();
    ASSERT_EQ(Z_samepageZ_argmax(g.ctx(), idx, cache), 0u);
    const int32_t seq = rc_of(Z_samepageZ_record_end(g.ctx()));
    ASSERT_GT(seq, 0) << g.last_error();
    // Copy mode stages every op, so its layer keeps the sequence and runs the
    // ops through the inner backend's eager path.
    const bool shared = mode == MemoryMode::MemoryMode_shared;
    EXPECT_EQ(log.n_compiles, shared ? 1 : 0);
    if (shared) {
      EXPECT_TRUE(log.has("compile 2 ops, slot 0"));
    }
    const uint32_t params_at = g.alloc(4);
    for (int32_t row = 0; row < 4; ++row) {
      *g.at<int32_t>(params_at) = row;
      ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
      if (shared) {
        EXPECT_EQ(log.last_params, std::vector<int32_t>{row});
      }
      EXPECT_EQ(std::memcmp(g.at<float>(cache_at) + row * 8, src, 32), 0) << memory_mode_name(mode) << " row " << row;
    }
    const int32_t want = static_cast<int32_t>(std::max_element(src, src + 8) - src);
    for (int r = 0; r < 4; ++r) EXPECT_EQ(g.at<int32_t>(idx_at)[r], want) << memory_mode_name(mode);
    EXPECT_EQ(log.n_compiles, shared ? 1 : 0);
    EXPECT_EQ(log.n_runs, shared ? 4 : 0);
    EXPECT_EQ(log.n_executes, 8);  // the default run loops over the eager path
    // An out-of-range parameter never reaches the backend.
    *g.at<int32_t>(params_at) = 4;
    EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, params_at, 1)), SP_ERR_ARG);
    EXPECT_EQ(log.n_executes, 8);
  }
}

TEST(BackendV2, MemoryEventsArriveInOrderAndUnmapIsAnnouncedFirst) {
  Log log;
  FakeGuest g(MemoryMode::MemoryMode_shared, 16, nullptr, std::make_unique<RecordingBackend>(&log), 32);
  const uint64_t size = g.size_bytes();
  EXPECT_EQ(log.lines.front(), "event grow 0 " + std::to_string(size));  // committed before attach
  ASSERT_EQ(g.memory().grow(2), 16u);
  g.sync_size();
  EXPECT_EQ(log.lines.back(), "event grow " + std::to_string(size) + " " + std::to_string(2 * 65536));

  // A file of two pages, mapped at page 20 (in the new growth).
  char path[] = "/tmp/samepage_events_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  std::vector<uint8_t> bytes(8192, 0xf1);
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), 8192);
  g.add_file(3, fd);
  const uint32_t at = 16 * 65536;
  g.base()[at] = 0xab;
  std::vector<int> seen_at_event;  // the first byte there when each event arrives
  log.on_event = [&](const MemoryEvent& e) {
    if (e.offset == at) seen_at_event.push_back(g.base()[at]);
  };
  ASSERT_EQ(Z_samepageZ_map_file(g.ctx(), 3, 0, 8192, at), 0u) << g.last_error();
  EXPECT_EQ(log.lines.back(), "event file_map " + std::to_string(at) + " 8192");
  // Views of the mapping reach the backend as file-mapped.
  const uint32_t file_shape = g.alloc(4);
  *g.at<uint32_t>(file_shape) = 2048;
  const int32_t weights = rc_of(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, file_shape, 0));
  ASSERT_GT(weights, 0) << g.last_error();
  EXPECT_EQ(log.created.back().residency, Residency_file_mapped);
  // With the file's identity and where the bytes start in it (what lets a
  // backend keep one device copy for every guest that maps the same file).
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(log.created.back().file.known());
  EXPECT_EQ(log.created.back().file.inode, uint64_t(st.st_ino));
  EXPECT_EQ(log.created.back().file.size, 8192u);
  EXPECT_EQ(log.created.back().file_offset, 0u);
  const uint32_t page_shape = g.alloc(4);
  *g.at<uint32_t>(page_shape) = 1024;
  const int32_t second_page = rc_of(Z_samepageZ_tensor_view(g.ctx(), at + 4096, 0, 1, page_shape, 0));
  ASSERT_GT(second_page, 0) << g.last_error();
  EXPECT_EQ(log.created.back().file_offset, 4096u);
  EXPECT_TRUE(log.created.back().file == log.created[log.created.size() - 2].file);
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), second_page), 0u);
  const int32_t elsewhere = rc_of(Z_samepageZ_tensor_view(g.ctx(), g.alloc(8192), 0, 1, file_shape, 0));
  ASSERT_GT(elsewhere, 0) << g.last_error();
  EXPECT_FALSE(log.created.back().file.known()) << "a view outside every mapping names no file";
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), elsewhere), 0u);
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), weights), 0u);
  ASSERT_EQ(Z_samepageZ_unmap_file(g.ctx(), at, 8192), 0u) << g.last_error();
  EXPECT_EQ(log.lines.back(), "event file_unmap " + std::to_string(at) + " 8192");
  // Both announced before the pages changed: the old bytes were still there.
  EXPECT_EQ(seen_at_event, (std::vector<int>{0xab, 0xf1}));
  EXPECT_EQ(g.base()[at], 0);

  // Protection: a whole-page const view is announced; a partial page is not protected.
  const uint32_t shape_at = g.alloc(4);
  *g.at<uint32_t>(shape_at) = 1024;
  const int32_t c1 = rc_of(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, SP_CONST));
  ASSERT_GT(c1, 0);
  // Protected first (an error leaves nothing behind), then created.
  EXPECT_EQ(log.lines[log.lines.size() - 2], "event protect " + std::to_string(at) + " 4096");
  const size_t n_lines = log.lines.size();
  *g.at<uint32_t>(shape_at) = 100;
  const int32_t partial = rc_of(Z_samepageZ_tensor_view(g.ctx(), at + 8192, 0, 1, shape_at, SP_CONST));
  ASSERT_GT(partial, 0);
  EXPECT_EQ(log.lines.size(), n_lines + 1) << "a create line, no protect event";
  const uint32_t info_at = g.alloc(48);
  ASSERT_EQ(Z_samepageZ_tensor_info(g.ctx(), partial, info_at), 0u);
  EXPECT_EQ(reinterpret_cast<sp_tensor_info*>(g.base() + info_at)->write_protected, 0);
  // Two const views sharing a page: it stays read-only until the last is freed.
  *g.at<uint32_t>(shape_at) = 2048;
  const int32_t c2 = rc_of(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, SP_CONST));
  ASSERT_GT(c2, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), c1), 0u);
  EXPECT_FALSE(g.memory().is_writable(at, 4));
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), c2), 0u);
  EXPECT_TRUE(g.memory().is_writable(at, 8192));
  EXPECT_EQ(log.lines[log.lines.size() - 2], "event unprotect " + std::to_string(at) + " 8192");
  EXPECT_EQ(log.lines.back(), "release " + std::to_string(log.created.back().id));
  // A freed const view breaks the sequences that read it.
  *g.at<uint32_t>(shape_at) = 1024;
  const int32_t w = rc_of(Z_samepageZ_tensor_view(g.ctx(), at, 0, 1, shape_at, SP_CONST));
  uint32_t out_at = 0;
  const int32_t out = g.view(0, {1024}, 4096, &out_at);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), out, w, 2.0f), 0u);
  const int32_t seq = rc_of(Z_samepageZ_record_end(g.ctx()));
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), w), 0u);
  EXPECT_EQ(rc_of(Z_samepageZ_replay(g.ctx(), seq, 0, 0)), SP_ERR_STATE);
  // Release reaches the backend when the API goes, and nothing after.
  g.end_api();
  EXPECT_EQ(log.lines.back(), "event release 0 " + std::to_string(g.memory().reserved_bytes()));
  close(fd);
}

TEST(BackendV2, RegistryProbesWithoutCreatingAndNamesWhatIsNotBuilt) {
  const std::vector<BackendEntry>& entries = backend_registry();
  ASSERT_GE(entries.size(), 2u);
  EXPECT_STREQ(entries[0].name, "cpu");
  const BackendProbe cpu = entries[0].probe();
  EXPECT_TRUE(cpu.available);
  EXPECT_EQ(cpu.caps.name, "cpu");
  EXPECT_TRUE(cpu.caps.zero_copy_host_memory);
  auto cuda = std::find_if(entries.begin(), entries.end(), [](const BackendEntry& e) { return std::string(e.name) == "cuda"; });
  ASSERT_NE(cuda, entries.end());
  const BackendProbe cuda_probe = cuda->probe();
  if (!cuda_probe.available) {
    // "not built: ..." (backends/no_cuda), or built with no usable GPU here: the reason, by name.
    const std::string& why = cuda_probe.unavailable;
    EXPECT_TRUE(why.find("not built") != std::string::npos || why.find("GPU") != std::string::npos)
        << why;
    auto created = create_backend("cuda");
    ASSERT_FALSE(created.is_ok());
    EXPECT_NE(created.message().find("'cuda'"), std::string::npos) << created.message();
    EXPECT_NE(created.message().find(cuda_probe.unavailable), std::string::npos) << created.message();
  }
  auto unknown = create_backend("tpu");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.message().find("known: cpu, cuda"), std::string::npos) << unknown.message();
}

}  // namespace
}  // namespace samepage
