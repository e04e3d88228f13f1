// The CUDA backend's own duties, beyond the op test (backend_ops_test.cpp):
// guest memory registered and re-registered as its pages change (a file
// mapped into the chunk, const pages protected then reopened), SP_DEVICE
// views that reach the guest only through sp_sync, and a bad token reported
// as an error, and a recorded sequence replayed as one CUDA graph that
// follows its parameters and guest memory events, and tensor bytes
// copied out of HBM and back (guest snapshots). Skipped, with the probe's reason, where there is no GPU (CI);
// scripts/device_cuda.sh runs them on the H200.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "backend_ops_util.h"
#include "host_api_fixture.h"

namespace samepage::test {
namespace {

constexpr uint32_t kN = 64, kK = 256;  // W (kN, kK) f32: 64 KiB, whole pages

class CudaBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = backend_unavailable("cuda"); !why.empty()) GTEST_SKIP() << why;
  }
  static std::vector<float> values(size_t n, float seed) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = std::sin(seed + 0.37f * float(i));
    return v;
  }
  // y = x · Wᵀ in double, compared element by element.
  static void expect_product(const float* y, const float* x, const float* w) {
    for (uint32_t j = 0; j < kN; ++j) {
      double want = 0;
      for (uint32_t i = 0; i < kK; ++i) want += double(x[i]) * double(w[j * kK + i]);
      EXPECT_NEAR(y[j], want, 1e-4) << "column " << j;
    }
  }
};

TEST_F(CudaBackend, FileMappedWeightsBesideSharedActivationsInOneChunk) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 64, nullptr, backend_named("cuda"));
  const std::vector<float> w = values(kN * kK, 1.0f), x = values(kK, 2.0f);
  char path[] = "/tmp/samepage_cuda_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, w.data(), w.size() * 4), ssize_t(w.size() * 4));
  close(fd);
  // x and out below 1 MiB, the file's pages at 1 MiB: one registration chunk,
  // read-write around a read-only piece.
  uint32_t x_at = 0, y_at = 0;
  const int32_t tx = g.view(SP_F32, {1, kK}, kK * 4, &x_at);
  const int32_t ty = g.view(SP_F32, {1, kN}, kN * 4, &y_at);
  std::memcpy(g.base() + x_at, x.data(), kK * 4);
  const uint32_t w_at = 1u << 20;
  ASSERT_TRUE(g.memory().map_file(w_at, path, 0, w.size() * 4).is_ok());
  std::remove(path);
  const uint32_t shape_at = g.alloc(16);
  const uint32_t shape[2] = {kN, kK};
  std::memcpy(g.base() + shape_at, shape, 8);
  const int32_t tw = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, SP_F32, 2, shape_at, SP_CONST));
  ASSERT_GT(tw, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), ty, tx, tw), 0u) << g.last_error();
  expect_product(g.at<float>(y_at), x.data(), w.data());

  // Unmapped: zeroed writable pages replace the file's (the chunk is
  // unregistered first); new weights written there, used as a shared view.
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), tw), 0u);
  ASSERT_TRUE(g.memory().unmap_file(w_at).is_ok());
  const std::vector<float> w2 = values(kN * kK, 3.0f);
  std::memcpy(g.base() + w_at, w2.data(), w2.size() * 4);
  const int32_t tw2 = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, SP_F32, 2, shape_at, 0));
  ASSERT_GT(tw2, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), ty, tx, tw2), 0u) << g.last_error();
  expect_product(g.at<float>(y_at), x.data(), w2.data());
}

TEST_F(CudaBackend, PagesOfAFreedConstViewTakeKernelWrites) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 64, nullptr, backend_named("cuda"));
  const std::vector<float> w = values(kN * kK, 1.0f), x = values(kK, 2.0f);
  uint32_t x_at = 0, y_at = 0;
  const int32_t tx = g.view(SP_F32, {1, kK}, kK * 4, &x_at);
  const int32_t ty = g.view(SP_F32, {1, kN}, kN * 4, &y_at);
  std::memcpy(g.base() + x_at, x.data(), kK * 4);
  const uint32_t w_at = 1u << 20;  // whole pages: the const view write-protects them
  std::memcpy(g.base() + w_at, w.data(), w.size() * 4);
  const uint32_t shape_at = g.alloc(16);
  const uint32_t shape[2] = {kN, kK};
  std::memcpy(g.base() + shape_at, shape, 8);
  const int32_t tw = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, SP_F32, 2, shape_at, SP_CONST));
  ASSERT_GT(tw, 0) << g.last_error();
  // The chunk is registered now with the protected pages read-only.
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), ty, tx, tw), 0u) << g.last_error();
  expect_product(g.at<float>(y_at), x.data(), w.data());
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), tw), 0u);
  // Writable again: a kernel writes them in place (a stale read-only
  // registration would fault the kernel).
  const uint32_t flat_at = g.alloc(16);
  const uint32_t flat[1] = {kN * kK};
  std::memcpy(g.base() + flat_at, flat, 4);
  const int32_t tflat = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, SP_F32, 1, flat_at, 0));
  ASSERT_GT(tflat, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), tflat, tflat, 2.0f), 0u) << g.last_error();
  for (uint32_t i = 0; i < kN * kK; i += 97) EXPECT_EQ(g.at<float>(w_at)[i], 2.0f * w[i]) << i;
}

TEST_F(CudaBackend, DeviceViewReachesTheGuestOnSync) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 16, nullptr, backend_named("cuda"));
  uint32_t x_at = 0, d_at = 0;
  const int32_t tx = g.view(SP_F32, {1000}, 4000, &x_at);
  const int32_t td = g.view(SP_F32, {1000}, 4000, &d_at, SP_DEVICE);
  ASSERT_GT(td, 0) << g.last_error();
  for (int i = 0; i < 1000; ++i) g.at<float>(x_at)[i] = float(i), g.at<float>(d_at)[i] = -1.0f;
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), td, tx, 3.0f), 0u) << g.last_error();
  EXPECT_EQ(g.at<float>(d_at)[10], -1.0f) << "the device copy is authoritative until sp_sync";
  ASSERT_EQ(Z_samepageZ_sync(g.ctx(), td), 0u) << g.last_error();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(g.at<float>(d_at)[i], 3.0f * float(i)) << i;
}

TEST_F(CudaBackend, TokenOutsideTheVocabularyIsAnError) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 16, nullptr, backend_named("cuda"));
  uint32_t table_at = 0, tok_at = 0, out_at = 0;
  const int32_t table = g.view(SP_F32, {10, 32}, 10 * 32 * 4, &table_at);
  const int32_t tokens = g.view(SP_I32, {3}, 12, &tok_at);
  const int32_t out = g.view(SP_F32, {3, 32}, 3 * 32 * 4, &out_at);
  const int32_t ids[3] = {1, 10, 2};
  std::memcpy(g.base() + tok_at, ids, 12);
  EXPECT_EQ(int32_t(Z_samepageZ_embedding(g.ctx(), out, table, tokens)), SP_ERR_BACKEND);
  EXPECT_NE(g.last_error().find("token 10 at index 1 is outside the vocabulary"), std::string::npos)
      << g.last_error();
  // The backend stays usable: the report was cleared.
  const int32_t good[3] = {0, 9, 5};
  std::memcpy(g.base() + tok_at, good, 12);
  for (int i = 0; i < 320; ++i) g.at<float>(table_at)[i] = float(i);
  ASSERT_EQ(Z_samepageZ_embedding(g.ctx(), out, table, tokens), 0u) << g.last_error();
  EXPECT_EQ(g.at<float>(out_at)[32 + 3], float(9 * 32 + 3));
}

// A sequence replayed as a captured graph: the row parameter reaches the
// kernel through the parameter buffer (a baked-in row would write row 0
// every time), the shared input is read afresh from guest memory each
// replay, and after the memory grows (an event: the graph is captured
// again) replays still land in guest memory.
// The graph tests' cache (rows × row f32) after replays at rows 0, 2, 3, 5
// and 7, each storing 2·(row·1000 + i): those rows hold it, the rest zeros.
void expect_rows_0_2_3_5_7_written(FakeGuest& g, uint32_t cache_at, uint32_t rows, uint32_t row) {
  for (uint32_t r = 0; r < rows; ++r) {
    const bool written = r == 0 || r == 2 || r == 3 || r == 5 || r == 7;
    for (uint32_t i = 0; i < row; i += 7)
      ASSERT_EQ(g.at<float>(cache_at)[r * row + i], written ? 2.0f * float(r * 1000 + i) : 0.0f)
          << "row " << r << " element " << i;
  }
}

TEST_F(CudaBackend, ReplayedGraphFollowsParametersAndMemoryEvents) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 64, nullptr, backend_named("cuda"), 128);
  constexpr uint32_t kRow = 64, kRows = 8;
  uint32_t x_at = 0, y_at = 0, cache_at = 0;
  const int32_t tx = g.view(SP_F32, {1, kRow}, kRow * 4, &x_at);
  const int32_t ty = g.view(SP_F32, {1, kRow}, kRow * 4, &y_at);
  const int32_t tc = g.view(SP_F32, {kRows, kRow}, kRows * kRow * 4, &cache_at);
  ASSERT_GT(tc, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), ty, tx, 2.0f), 0u) << g.last_error();
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), tc, ty, uint32_t(SP_PARAM_BASE)), 0u) << g.last_error();
  const int32_t seq = int32_t(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(seq, 0) << g.last_error();
  const uint32_t params_at = g.alloc(4);
  auto replay_row = [&](int32_t row) {
    for (uint32_t i = 0; i < kRow; ++i) g.at<float>(x_at)[i] = float(row * 1000 + int32_t(i));
    std::memcpy(g.base() + params_at, &row, 4);
    ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
  };
  for (int32_t row : {2, 0, 3}) replay_row(row);
  ASSERT_EQ(g.memory().grow(16), 64u);
  g.sync_size();
  for (int32_t row : {5, 7}) replay_row(row);
  expect_rows_0_2_3_5_7_written(g, cache_at, kRows, kRow);
}

// A counter of the guest's backend (Backend::stats), -1 when it has none by that name.
double stat(FakeGuest& g, const std::string& name) {
  for (const BackendStat& s : g.api().backend().stats())
    if (s.name == name) return s.value;
  return -1;
}

// A session restore's rows: set_rows of f16 rows from a shared view into a
// runtime cache at a literal row is one DMA from the guest pages
// (set_rows_dma), op by op and in a replayed graph, which reads the guest's
// bytes anew at each replay; at a row that is a replay parameter the op
// takes its kernel. The cache must hold exactly what was written where.
TEST_F(CudaBackend, SavedRowsGoStraightIntoTheCacheByDma) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 64, nullptr, backend_named("cuda"));
  constexpr uint32_t kRow = 64, kRows = 32, kSaved = 7;
  const uint32_t shape_at = g.alloc(16);
  const uint32_t shape[2] = {kRows, kRow};
  std::memcpy(g.base() + shape_at, shape, sizeof shape);
  const int32_t cache = int32_t(Z_samepageZ_tensor_alloc(g.ctx(), SP_F16, 2, shape_at, SP_DEVICE));
  ASSERT_GT(cache, 0) << g.last_error();
  uint32_t rows_at = 0, out_at = 0;
  const int32_t rows = g.view(SP_F16, {kSaved, kRow}, kSaved * kRow * 2, &rows_at);
  const int32_t out = g.view(SP_F16, {kRows, kRow}, kRows * kRow * 2, &out_at);
  ASSERT_GT(rows, 0) << g.last_error();
  ASSERT_GT(out, 0) << g.last_error();
  std::vector<uint16_t> want(kRows * kRow, 0);  // the cache as it must be (zeroed at first)
  // Saved rows: finite f16 bit patterns from base, written into want at row0 too.
  auto save = [&](uint16_t base, uint32_t row0) {
    for (uint32_t i = 0; i < kSaved * kRow; ++i) {
      g.at<uint16_t>(rows_at)[i] = uint16_t(base + i % 997);
      want[row0 * kRow + i] = uint16_t(base + i % 997);
    }
  };
  auto expect_cache = [&](const char* when) {
    ASSERT_EQ(Z_samepageZ_copy(g.ctx(), uint32_t(out), uint32_t(cache)), 0u) << g.last_error();
    size_t differ = 0;
    for (uint32_t i = 0; i < kRows * kRow; ++i) differ += g.at<uint16_t>(out_at)[i] != want[i];
    EXPECT_EQ(differ, 0u) << when;
  };
  auto dma_count = [&] { return stat(g, "set_rows_dma"); };
  const double allocated = stat(g, "device_alloc_bytes");
  save(0x3c00, 3);
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), uint32_t(cache), uint32_t(rows), 3), 0u) << g.last_error();
  ASSERT_NO_FATAL_FAILURE(expect_cache("op by op at row 3"));
  EXPECT_EQ(dma_count(), 1.0);
  EXPECT_EQ(stat(g, "device_alloc_bytes"), allocated) << "no HBM mirror of the rows";
  // The last rows the cache has: in bounds, and the rows before them untouched.
  save(0x3a00, kRows - kSaved);
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), uint32_t(cache), uint32_t(rows), kRows - kSaved), 0u) << g.last_error();
  ASSERT_NO_FATAL_FAILURE(expect_cache("op by op at the last rows"));
  EXPECT_EQ(dma_count(), 2.0);
  // Rows of another dtype are converted: the kernel, not the DMA.
  uint32_t f32_at = 0;
  const int32_t rows_f32 = g.view(SP_F32, {kSaved, kRow}, kSaved * kRow * 4, &f32_at);
  ASSERT_GT(rows_f32, 0) << g.last_error();
  for (uint32_t i = 0; i < kSaved * kRow; ++i) g.at<float>(f32_at)[i] = float(i % 61) * 0.25f;  // exact in f16
  ASSERT_EQ(Z_samepageZ_copy(g.ctx(), uint32_t(rows), uint32_t(rows_f32)), 0u) << g.last_error();  // their f16 bits
  for (uint32_t i = 0; i < kSaved * kRow; ++i) want[14 * kRow + i] = g.at<uint16_t>(rows_at)[i];
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), uint32_t(cache), uint32_t(rows_f32), 14), 0u) << g.last_error();
  ASSERT_NO_FATAL_FAILURE(expect_cache("f32 rows converted at row 14"));
  EXPECT_EQ(dma_count(), 2.0) << "f32 rows into an f16 cache take the kernel";

  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), uint32_t(cache), uint32_t(rows), 20), 0u) << g.last_error();
  const int32_t at_20 = int32_t(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(at_20, 0) << g.last_error();
  for (uint16_t base : {uint16_t(0x3d00), uint16_t(0x3e00)}) {
    save(base, 20);
    ASSERT_EQ(Z_samepageZ_replay(g.ctx(), uint32_t(at_20), 0, 0), 0u) << g.last_error();
    ASSERT_NO_FATAL_FAILURE(expect_cache("replayed at row 20"));
  }
  EXPECT_EQ(dma_count(), 3.0) << "the graph's capture takes the DMA once; its replays launch it";

  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), uint32_t(cache), uint32_t(rows), uint32_t(SP_PARAM_BASE)), 0u)
      << g.last_error();
  const int32_t at_param = int32_t(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(at_param, 0) << g.last_error();
  const uint32_t params_at = g.alloc(4);
  g.at<int32_t>(params_at)[0] = 12;
  save(0x3f00, 12);
  ASSERT_EQ(Z_samepageZ_replay(g.ctx(), uint32_t(at_param), params_at, 1), 0u) << g.last_error();
  ASSERT_NO_FATAL_FAILURE(expect_cache("replayed at parameter row 12"));
  EXPECT_EQ(dma_count(), 3.0) << "a parameter row takes the kernel";
}

// What a guest snapshot does with device-resident tensors: a runtime
// tensor's HBM bytes read out after a kernel wrote them, written into a new
// runtime tensor and computed on there (kernels see the written bytes); a
// device view read from HBM, not from its stale guest bytes; wrong sizes,
// unknown ids and const views refused with an error.
TEST_F(CudaBackend, TensorBytesLeaveAndReenterDeviceMemory) {
  std::unique_ptr<Backend> cuda = backend_named("cuda");
  ASSERT_TRUE(cuda);
  constexpr int64_t kN = 3000;  // not a multiple of 256: the allocation's padding stays out of it
  auto runtime = [&](uint64_t id) {
    TensorDesc d;
    d.id = id;
    d.n_dims = 1;
    d.shape[0] = kN;
    d.n_bytes = kN * 4;
    d.residency = Residency_device;
    auto p = cuda->tensor_create(d);
    EXPECT_TRUE(p.is_ok()) << p.message();
    TensorArg a;
    a.data = p.is_ok() ? p.value() : nullptr;
    a.n_dims = 1;
    a.shape[0] = kN;
    a.n_bytes = kN * 4;
    a.id = id;
    return a;
  };
  const TensorArg a = runtime(1), b = runtime(2);
  ASSERT_TRUE(a.data && b.data);
  std::vector<float> in = values(kN, 0.5f), out(kN, -7.0f);
  ASSERT_TRUE(cuda->tensor_write(a, in.data()).is_ok());
  OpArgs scale;
  scale.op = OpCode_scale;
  scale.t[0] = a, scale.t[1] = a;
  scale.f[0] = 3.0f;
  ASSERT_TRUE(cuda->execute(scale).is_ok());
  ASSERT_TRUE(cuda->tensor_read(a, out.data()).is_ok());
  for (int64_t i = 0; i < kN; ++i) ASSERT_EQ(out[i], 3.0f * in[i]) << i;

  // Into another tensor, as a restore does, then a kernel reads it.
  ASSERT_TRUE(cuda->tensor_write(b, out.data()).is_ok());
  scale.t[0] = b, scale.t[1] = b;
  scale.f[0] = 0.5f;
  ASSERT_TRUE(cuda->execute(scale).is_ok());
  std::vector<float> back(kN, 0.0f);
  ASSERT_TRUE(cuda->tensor_read(b, back.data()).is_ok());
  for (int64_t i = 0; i < kN; ++i) ASSERT_EQ(back[i], 0.5f * (3.0f * in[i])) << i;

  // Refusals: another size, an unknown tensor.
  TensorArg wrong = a;
  wrong.n_bytes -= 4;
  Status s = cuda->tensor_read(wrong, back.data());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("holds 12000 bytes"), std::string::npos) << s.message();
  TensorArg unknown = a;
  unknown.id = 99;
  s = cuda->tensor_write(unknown, in.data());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("unknown to the backend"), std::string::npos) << s.message();
  cuda->tensor_release(1);
  cuda->tensor_release(2);
}

// The host API's snapshot of a guest on CUDA (HostApi::save_state): a
// runtime tensor a kernel filled comes out of HBM with its bytes, and its
// state restores into a fresh API on the CPU and on CUDA, where the tensor
// is live (a kernel reads and writes it; a copy shows the values).
TEST_F(CudaBackend, RuntimeTensorStateMovesToCpuAndCuda) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 16, nullptr, backend_named("cuda"));
  uint32_t x_at = 0;
  const int32_t tx = g.view(SP_F32, {1000}, 4000, &x_at);
  const uint32_t shape_at = g.alloc(16);
  const uint32_t shape[1] = {1000};
  std::memcpy(g.base() + shape_at, shape, 4);
  const int32_t ta = int32_t(Z_samepageZ_tensor_alloc(g.ctx(), SP_F32, 1, shape_at, 0));
  ASSERT_GT(ta, 0) << g.last_error();
  for (int i = 0; i < 1000; ++i) g.at<float>(x_at)[i] = float(i) - 500.0f;
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), ta, tx, 3.0f), 0u) << g.last_error();
  auto state = g.api().save_state();
  ASSERT_TRUE(state.is_ok()) << state.message();
  ASSERT_TRUE(state.value().read_tensor_bytes().is_ok());
  const HostApiState::Entry* saved = nullptr;
  for (const HostApiState::Entry& e : state.value().tensors)
    if (e.handle == ta) saved = &e;
  ASSERT_NE(saved, nullptr);
  ASSERT_EQ(saved->bytes.size(), 4000u);
  for (int i = 0; i < 1000; ++i) {
    float v = 0;
    std::memcpy(&v, saved->bytes.data() + 4 * i, 4);
    ASSERT_EQ(v, 3.0f * (float(i) - 500.0f)) << i;
  }
  for (const char* target : {"cpu", "cuda"}) {
    FakeGuest h(MemoryMode::MemoryMode_shared, 16, nullptr, backend_named(target));
    ASSERT_TRUE(h.api().restore_state(state.value()).is_ok()) << target;
    h.alloc(16), h.alloc(4000), h.alloc(16);  // g's allocations: past the restored view's bytes
    uint32_t y_at = 0;
    const int32_t ty = h.view(SP_F32, {1000}, 4000, &y_at);
    ASSERT_GT(ty, 0) << h.last_error();
    ASSERT_EQ(Z_samepageZ_scale(h.ctx(), ta, ta, 2.0f), 0u) << target << ": " << h.last_error();
    ASSERT_EQ(Z_samepageZ_copy(h.ctx(), ty, ta), 0u) << target << ": " << h.last_error();
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(h.at<float>(y_at)[i], 6.0f * (float(i) - 500.0f)) << target << " " << i;
  }
}

std::unique_ptr<Backend> cuda_with(bool graphs, bool pdl) {
  BackendOptions options;
  options.native_replay = graphs;
  options.overlap_launches = pdl;
  auto backend = create_backend("cuda", options);
  EXPECT_TRUE(backend.is_ok()) << backend.message();
  return backend.is_ok() ? std::move(backend).value() : nullptr;
}

// Graphs are captured again only when pages they may name were unregistered:
// growth, and kernels on the grown pages (their chunk's new part registered
// beside the old), keep the graph; a file mapped into its chunk does not.
TEST_F(CudaBackend, GrowthKeepsTheCapturedGraphAFileMappedIntoItsChunkDoesNot) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 64, nullptr, backend_named("cuda"), 128);
  constexpr uint32_t kRow = 64, kRows = 8;
  uint32_t x_at = 0, y_at = 0, cache_at = 0;
  const int32_t tx = g.view(SP_F32, {1, kRow}, kRow * 4, &x_at);
  const int32_t ty = g.view(SP_F32, {1, kRow}, kRow * 4, &y_at);
  const int32_t tc = g.view(SP_F32, {kRows, kRow}, kRows * kRow * 4, &cache_at);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), ty, tx, 2.0f), 0u) << g.last_error();
  ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), tc, ty, uint32_t(SP_PARAM_BASE)), 0u) << g.last_error();
  const int32_t seq = int32_t(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(seq, 0) << g.last_error();
  const uint32_t params_at = g.alloc(4);
  auto replay_row = [&](int32_t row) {
    for (uint32_t i = 0; i < kRow; ++i) g.at<float>(x_at)[i] = float(row * 1000 + int32_t(i));
    std::memcpy(g.base() + params_at, &row, 4);
    ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
  };
  replay_row(2);
  replay_row(0);
  EXPECT_EQ(stat(g, "graph_capture_count"), 1);

  ASSERT_EQ(g.memory().grow(16), 64u);
  g.sync_size();
  // A view on the new pages, written by a kernel in place.
  const uint32_t new_at = 64u * 65536u + 4096u, shape_at = g.alloc(16);
  const uint32_t shape[1] = {1024};
  std::memcpy(g.base() + shape_at, shape, 4);
  for (uint32_t i = 0; i < 1024; ++i) g.at<float>(new_at)[i] = float(i);
  const int32_t tn = int32_t(Z_samepageZ_tensor_view(g.ctx(), new_at, SP_F32, 1, shape_at, 0));
  ASSERT_GT(tn, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_scale(g.ctx(), tn, tn, 3.0f), 0u) << g.last_error();
  for (uint32_t i = 0; i < 1024; i += 31) ASSERT_EQ(g.at<float>(new_at)[i], 3.0f * float(i)) << i;
  replay_row(3);
  replay_row(5);
  EXPECT_EQ(stat(g, "graph_capture_count"), 1) << "growth re-captured the graph";

  // A file mapped into the registered chunk: unregistered, captured again.
  const std::vector<float> w = values(16384, 1.0f);
  char path[] = "/tmp/samepage_cuda_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, w.data(), w.size() * 4), ssize_t(w.size() * 4));
  close(fd);
  ASSERT_TRUE(g.memory().map_file(2u << 20, path, 0, w.size() * 4).is_ok());
  std::remove(path);
  replay_row(7);
  EXPECT_EQ(stat(g, "graph_capture_count"), 2);
  EXPECT_EQ(stat(g, "graph_launch_count"), 5);
  expect_rows_0_2_3_5_7_written(g, cache_at, kRows, kRow);
}

// Graphs and programmatic dependent launch change when kernels start, never
// what they compute: a chain of dependent small kernels (each reads what the
// one before wrote, as a decode step's), replayed at several positions,
// gives the same bits in all four settings, and the counters say which ran.
TEST_F(CudaBackend, GraphsAndPdlChangeNothingButTiming) {
  constexpr uint32_t kRow = 2048, kRows = 6;
  std::vector<float> first;
  for (int setting = 0; setting < 4; ++setting) {
    const bool graphs = setting & 1, pdl = setting & 2;
    FakeGuest g(MemoryMode::MemoryMode_shared, 64, nullptr, cuda_with(graphs, pdl));
    uint32_t x_at = 0, w_at = 0, cache_at = 0;
    const int32_t tx = g.view(SP_F32, {1, kRow}, kRow * 4, &x_at);
    const int32_t tw = g.view(SP_F32, {kRow}, kRow * 4, &w_at);
    const int32_t ta = g.view(SP_F32, {1, kRow}, kRow * 4);
    const int32_t tb = g.view(SP_F32, {1, kRow}, kRow * 4);
    const int32_t tc = g.view(SP_F32, {kRows, kRow}, kRows * kRow * 4, &cache_at);
    const std::vector<float> w = values(kRow, 0.5f);
    std::memcpy(g.base() + w_at, w.data(), kRow * 4);
    ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
    ASSERT_EQ(Z_samepageZ_rmsnorm(g.ctx(), ta, tx, tw, 1e-5f), 0u) << g.last_error();
    ASSERT_EQ(Z_samepageZ_scale(g.ctx(), tb, ta, 1.5f), 0u) << g.last_error();
    ASSERT_EQ(Z_samepageZ_silu_mul(g.ctx(), ta, tb, ta), 0u) << g.last_error();
    ASSERT_EQ(Z_samepageZ_add(g.ctx(), tb, ta, tx), 0u) << g.last_error();
    ASSERT_EQ(Z_samepageZ_softmax(g.ctx(), ta, tb), 0u) << g.last_error();
    ASSERT_EQ(Z_samepageZ_set_rows(g.ctx(), tc, ta, uint32_t(SP_PARAM_BASE)), 0u) << g.last_error();
    const int32_t seq = int32_t(Z_samepageZ_record_end(g.ctx()));
    ASSERT_GT(seq, 0) << g.last_error();
    const uint32_t params_at = g.alloc(4);
    for (int32_t row = 0; row < int32_t(kRows); ++row) {
      const std::vector<float> x = values(kRow, float(row));
      std::memcpy(g.base() + x_at, x.data(), kRow * 4);
      std::memcpy(g.base() + params_at, &row, 4);
      ASSERT_EQ(Z_samepageZ_replay(g.ctx(), seq, params_at, 1), 0u) << g.last_error();
    }
    const std::vector<float> cache(g.at<float>(cache_at), g.at<float>(cache_at) + kRows * kRow);
    EXPECT_EQ(stat(g, "pdl"), pdl ? 1 : 0);
    EXPECT_EQ(stat(g, "graph_launch_count"), graphs ? double(kRows) : 0.0);
    EXPECT_EQ(stat(g, "eager_replay_count"), graphs ? 0.0 : double(kRows));
    EXPECT_EQ(g.api().backend().caps().native_replay, graphs);
    if (setting == 0) {
      first = cache;
      double sum = 0;
      for (float v : cache) sum += v;
      EXPECT_NEAR(sum, double(kRows), 1e-3) << "each row a softmax";
      continue;
    }
    for (size_t i = 0; i < cache.size(); ++i)
      ASSERT_EQ(cache[i], first[i]) << "graphs " << graphs << ", pdl " << pdl << ", element " << i;
  }
}

// The embedding's report (mapped host memory, no copy) inside a replayed
// graph: a bad token fails the replay, the next good one succeeds (the
// report and its device claim were cleared), a bad one fails again.
TEST_F(CudaBackend, ReplayedEmbeddingReportsEachBadTokenOnce) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 16, nullptr, backend_named("cuda"));
  uint32_t table_at = 0, tok_at = 0, out_at = 0;
  const int32_t table = g.view(SP_F32, {10, 32}, 10 * 32 * 4, &table_at);
  const int32_t tokens = g.view(SP_I32, {1}, 4, &tok_at);
  const int32_t out = g.view(SP_F32, {1, 32}, 32 * 4, &out_at);
  for (int i = 0; i < 320; ++i) g.at<float>(table_at)[i] = float(i);
  ASSERT_EQ(Z_samepageZ_record_begin(g.ctx()), 0u);
  ASSERT_EQ(Z_samepageZ_embedding(g.ctx(), out, table, tokens), 0u) << g.last_error();
  const int32_t seq = int32_t(Z_samepageZ_record_end(g.ctx()));
  ASSERT_GT(seq, 0) << g.last_error();
  for (int32_t token : {4, 12, 7, -1, 9}) {
    std::memcpy(g.base() + tok_at, &token, 4);
    const uint32_t rc = Z_samepageZ_replay(g.ctx(), seq, 0, 0);
    if (token < 0 || token >= 10) {
      EXPECT_EQ(int32_t(rc), SP_ERR_BACKEND) << token;
      EXPECT_NE(g.last_error().find("token " + std::to_string(token) + " at index 0"), std::string::npos)
          << g.last_error();
    } else {
      ASSERT_EQ(rc, 0u) << token << ": " << g.last_error();
      EXPECT_EQ(g.at<float>(out_at)[5], float(token * 32 + 5));
    }
  }
  EXPECT_EQ(stat(g, "graph_capture_count"), 1);
}

// A large const view outside every registered chunk is uploaded through the
// pinned staging buffers (three slices: the last one short), bytes intact.
TEST_F(CudaBackend, LargeConstViewIsUploadedThroughStaging) {
  constexpr uint32_t kCols = 2600, kDepth = 4096;  // W (kCols, kDepth) f32: 40.6 MiB
  FakeGuest g(MemoryMode::MemoryMode_shared, 1792, nullptr, backend_named("cuda"));
  uint32_t x_at = 0, y_at = 0;
  const int32_t tx = g.view(SP_F32, {1, kDepth}, kDepth * 4, &x_at);
  const int32_t ty = g.view(SP_F32, {1, kCols}, kCols * 4, &y_at);
  const std::vector<float> x = values(kDepth, 2.0f);
  std::memcpy(g.base() + x_at, x.data(), kDepth * 4);
  const uint32_t w_at = 64u << 20;  // the second 64 MiB chunk: nothing registers it
  float* w = g.at<float>(w_at);
  for (uint64_t i = 0; i < uint64_t(kCols) * kDepth; ++i) w[i] = std::sin(0.001f * float(i % 100003));
  const uint32_t shape_at = g.alloc(16);
  const uint32_t shape[2] = {kCols, kDepth};
  std::memcpy(g.base() + shape_at, shape, 8);
  const int32_t tw = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, SP_F32, 2, shape_at, SP_CONST));
  ASSERT_GT(tw, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), ty, tx, tw), 0u) << g.last_error();
  EXPECT_EQ(stat(g, "const_upload_staged_bytes"), double(uint64_t(kCols) * kDepth * 4));
  for (uint32_t j = 0; j < kCols; j += 37) {
    double want = 0;
    for (uint32_t i = 0; i < kDepth; ++i) want += double(x[i]) * double(w[uint64_t(j) * kDepth + i]);
    ASSERT_NEAR(g.at<float>(y_at)[j], want, 1e-3) << "column " << j;
  }
  // The last column: the short last slice's bytes.
  double want = 0;
  for (uint32_t i = 0; i < kDepth; ++i) want += double(x[i]) * double(w[uint64_t(kCols - 1) * kDepth + i]);
  EXPECT_NEAR(g.at<float>(y_at)[kCols - 1], want, 1e-3);
}

// Const views of the same guest bytes (a tied output projection) share one
// HBM copy and one upload; it lives while any of them does, and bytes
// written after the last one went are uploaded afresh.
TEST_F(CudaBackend, ConstViewsOfTheSameBytesShareOneCopy) {
  FakeGuest g(MemoryMode::MemoryMode_shared, 64, nullptr, backend_named("cuda"));
  const std::vector<float> w = values(kN * kK, 1.0f), x = values(kK, 2.0f);
  uint32_t x_at = 0, y_at = 0;
  const int32_t tx = g.view(SP_F32, {1, kK}, kK * 4, &x_at);
  const int32_t ty = g.view(SP_F32, {1, kN}, kN * 4, &y_at);
  std::memcpy(g.base() + x_at, x.data(), kK * 4);
  const uint32_t w_at = 1u << 20;
  std::memcpy(g.base() + w_at, w.data(), w.size() * 4);
  const uint32_t shape_at = g.alloc(16);
  const uint32_t shape[2] = {kN, kK};
  std::memcpy(g.base() + shape_at, shape, 8);
  const int32_t ta = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, SP_F32, 2, shape_at, SP_CONST));
  const double allocated = stat(g, "device_alloc_bytes");
  const int32_t tb = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, SP_F32, 2, shape_at, SP_CONST));
  ASSERT_GT(ta, 0) << g.last_error();
  ASSERT_GT(tb, 0) << g.last_error();
  EXPECT_EQ(stat(g, "device_alloc_bytes"), allocated) << "the second view allocated a copy of its own";
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), ty, tx, ta), 0u) << g.last_error();
  expect_product(g.at<float>(y_at), x.data(), w.data());
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), ty, tx, tb), 0u) << g.last_error();
  expect_product(g.at<float>(y_at), x.data(), w.data());
  EXPECT_EQ(stat(g, "const_upload_bytes"), double(kN * kK * 4));
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), ta), 0u);
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), ty, tx, tb), 0u) << g.last_error();
  expect_product(g.at<float>(y_at), x.data(), w.data());
  ASSERT_EQ(Z_samepageZ_tensor_free(g.ctx(), tb), 0u);
  // Writable again once no const view covers them: new bytes, a new copy.
  const std::vector<float> w2 = values(kN * kK, 5.0f);
  std::memcpy(g.base() + w_at, w2.data(), w2.size() * 4);
  const int32_t tc = int32_t(Z_samepageZ_tensor_view(g.ctx(), w_at, SP_F32, 2, shape_at, SP_CONST));
  ASSERT_GT(tc, 0) << g.last_error();
  ASSERT_EQ(Z_samepageZ_matmul(g.ctx(), ty, tx, tc), 0u) << g.last_error();
  expect_product(g.at<float>(y_at), x.data(), w2.data());
  EXPECT_EQ(stat(g, "const_upload_bytes"), double(2 * kN * kK * 4));
}

// Two guests that map one model file: the second's const view finds the
// HBM copy the first uploaded (no allocation, no upload: it waits for the
// first's upload event), and keeps it when the first guest ends; another
// file's bytes get a copy of their own; once no guest holds the copy, a new
// guest uploads afresh. 4 MiB of weights: the staged upload's path.
TEST_F(CudaBackend, GuestsThatMapOneFileShareItsDeviceCopy) {
  constexpr uint32_t kRows = 1024, kDepth = 1024;  // W (kRows, kDepth) f32: 4 MiB
  auto weights = [](float seed) {
    std::vector<float> w(size_t(kRows) * kDepth);
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(seed + 0.001f * float(i % 100003));
    return w;
  };
  const std::vector<float> w = weights(1.0f), w_other = weights(7.0f), x = values(kDepth, 2.0f);
  char path[] = "/tmp/samepage_cuda_share_XXXXXX", other[] = "/tmp/samepage_cuda_share_XXXXXX";
  for (auto [name, bytes] : {std::pair{path, &w}, std::pair{other, &w_other}}) {
    const int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, bytes->data(), bytes->size() * 4), ssize_t(bytes->size() * 4));
    close(fd);
  }
  constexpr uint32_t kWeightsAt = 8u << 20;
  const double weight_bytes = double(w.size() * 4);
  struct Guest {
    FakeGuest g{MemoryMode::MemoryMode_shared, 256, nullptr, backend_named("cuda")};
    int32_t tx = 0, ty = 0, tw = 0;
    uint32_t y_at = 0;
  };
  auto expect_products = [&](Guest& G, const std::vector<float>& wanted) {
    for (uint32_t j = 0; j < kRows; j += 31) {
      double want = 0;
      for (uint32_t i = 0; i < kDepth; ++i) want += double(x[i]) * double(wanted[size_t(j) * kDepth + i]);
      ASSERT_NEAR(G.g.at<float>(G.y_at)[j], want, 1e-3) << "column " << j;
    }
  };
  // A guest with the file mapped, a const view over it and x: one product, checked.
  auto start = [&](Guest& G, const char* file, const std::vector<float>& wanted) {
    uint32_t x_at = 0;
    G.tx = G.g.view(SP_F32, {1, kDepth}, kDepth * 4, &x_at);
    G.ty = G.g.view(SP_F32, {1, kRows}, kRows * 4, &G.y_at);
    std::memcpy(G.g.base() + x_at, x.data(), kDepth * 4);
    ASSERT_TRUE(G.g.memory().map_file(kWeightsAt, file, 0, wanted.size() * 4).is_ok());
    const uint32_t shape_at = G.g.alloc(16);
    const uint32_t shape[2] = {kRows, kDepth};
    std::memcpy(G.g.base() + shape_at, shape, 8);
    G.tw = int32_t(Z_samepageZ_tensor_view(G.g.ctx(), kWeightsAt, SP_F32, 2, shape_at, SP_CONST));
    ASSERT_GT(G.tw, 0) << G.g.last_error();
    ASSERT_EQ(Z_samepageZ_matmul(G.g.ctx(), G.ty, G.tx, G.tw), 0u) << G.g.last_error();
    expect_products(G, wanted);
  };
  auto a = std::make_unique<Guest>(), b = std::make_unique<Guest>();
  start(*a, path, w);
  EXPECT_EQ(stat(a->g, "const_upload_bytes"), weight_bytes);
  EXPECT_EQ(stat(a->g, "const_shared_bytes"), 0.0);
  start(*b, path, w);
  EXPECT_EQ(stat(b->g, "const_upload_bytes"), 0.0) << "the second guest uploaded the file's bytes again";
  EXPECT_EQ(stat(b->g, "const_shared_bytes"), weight_bytes);
  a.reset();  // the first guest ends: the copy stays the second's
  ASSERT_EQ(Z_samepageZ_matmul(b->g.ctx(), b->ty, b->tx, b->tw), 0u) << b->g.last_error();
  expect_products(*b, w);
  Guest c;  // another file: its own copy
  start(c, other, w_other);
  EXPECT_EQ(stat(c.g, "const_upload_bytes"), weight_bytes);
  EXPECT_EQ(stat(c.g, "const_shared_bytes"), 0.0);
  b.reset();  // no guest holds the first file's copy now
  Guest d;
  start(d, path, w);
  EXPECT_EQ(stat(d.g, "const_upload_bytes"), weight_bytes) << "a freed copy was found again";
  // Guests that map the other file at once, each on its own thread: a store
  // allocates its copy outside the registry's lock, so two may make one of
  // the same bytes together; the first registered serves them all, and the
  // bytes go up once.
  constexpr int kAtOnce = 4;
  std::vector<std::unique_ptr<Guest>> together;
  for (int i = 0; i < kAtOnce; ++i) together.push_back(std::make_unique<Guest>());
  c.g.end_api();  // the other file's first copy goes: the guests below race to make it again
  std::vector<std::thread> threads;
  for (auto& G : together) threads.emplace_back([&, guest = G.get()] { start(*guest, other, w_other); });
  for (std::thread& t : threads) t.join();
  double uploaded = 0, shared = 0;
  for (auto& G : together) {
    uploaded += stat(G->g, "const_upload_bytes");
    shared += stat(G->g, "const_shared_bytes");
  }
  EXPECT_EQ(uploaded, weight_bytes) << "the file's bytes went up more than once";
  EXPECT_EQ(shared, (kAtOnce - 1) * weight_bytes);
  std::remove(path);
  std::remove(other);
}

}  // namespace
}  // namespace samepage::test
