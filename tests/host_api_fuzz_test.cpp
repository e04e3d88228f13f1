// Every host-API entry point with random handles, offsets, sizes, dtypes,
// shapes and scalars. The invariant: no crash and no access outside the
// guest's memory (the reservation's guard pages fault, and the ASan build
// checks host memory), and every failure comes with a message. Run under
// AddressSanitizer by scripts/test.sh.
#include <unistd.h>

#include <cmath>

#include "host_api_fixture.h"

namespace samepage {
namespace {

using test::FakeGuest;

class Fuzzer {
 public:
  Fuzzer(FakeGuest& g, uint32_t seed) : g_(g), rng_(seed) {}

  uint32_t pick(std::initializer_list<uint32_t> options) {
    std::uniform_int_distribution<size_t> d(0, options.size() - 1);
    return *(options.begin() + d(rng_));
  }
  uint32_t uniform(uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_); }

  // A handle: mostly live ones, sometimes garbage.
  uint32_t handle() {
    if (!live_.empty() && uniform(0, 9) < 8) return static_cast<uint32_t>(live_[uniform(0, uint32_t(live_.size() - 1))]);
    return pick({0, 1, 2, 0xffffffffu, 0x80000000u, 65536, uniform(0, 100)});
  }
  // A guest offset: in range, near the end, or far outside.
  uint32_t offset() {
    const uint32_t size = static_cast<uint32_t>(g_.size_bytes());
    return pick({uniform(0, size - 1), size - uniform(1, 64), size, size + uniform(0, 4096), 0xfffffff0u,
                 0xffffffffu, uniform(0, 0xffffffffu), 65536 + 64 * uniform(0, 1000)});
  }
  uint32_t dtype() { return pick({0, 1, 2, 3, 4, 5, 6, 7, 0xffffffffu, uniform(0, 20)}); }
  uint32_t dim() { return pick({1, 2, 3, 4, 7, 8, 16, 31, 32, 33, 64, 0, 1u << 20, 0xffffffffu, uniform(1, 128)}); }
  float scalar() {
    return std::bit_cast<float>(pick({0x3f800000u, 0x00000000u, 0x7fc00000u /* NaN */, 0x7f800000u /* inf */,
                                      0xbf800000u, 0x3727c5acu /* 1e-5 */, 0x461c4000u /* 1e4 */, uniform(0, ~0u)}));
  }
  // Writes a random shape into guest memory and returns its address (or a bad pointer).
  uint32_t shape(uint32_t n_dims) {
    if (uniform(0, 19) == 0) return offset();
    const uint32_t at = g_.alloc(16);
    for (uint32_t i = 0; i < 4; ++i) g_.at<uint32_t>(at)[i] = dim();
    (void)n_dims;
    return at;
  }

  void step() {
    GuestContext* ctx = g_.ctx();
    int32_t rc = 0;
    switch (uniform(0, 29)) {
      case 0: {
        const uint32_t n = pick({1, 2, 3, 4, 0, 5, 0xffffffffu});
        rc = static_cast<int32_t>(Z_samepageZ_tensor_view(ctx, offset(), dtype(), n, shape(n), pick({0, 1, 2, 3, 7})));
        if (rc > 0) live_.push_back(rc);
        break;
      }
      case 1: {
        const uint32_t n = pick({1, 2, 3, 4, 0, 9});
        rc = static_cast<int32_t>(Z_samepageZ_tensor_alloc(ctx, dtype(), n, shape(n), pick({0, 2, 5})));
        if (rc > 0) live_.push_back(rc);
        break;
      }
      case 2: {
        const uint32_t h = handle();
        rc = static_cast<int32_t>(Z_samepageZ_tensor_free(ctx, h));
        if (rc == 0) live_.erase(std::find(live_.begin(), live_.end(), static_cast<int32_t>(h)));
        break;
      }
      case 3: rc = static_cast<int32_t>(Z_samepageZ_sync(ctx, handle())); break;
      case 4: rc = static_cast<int32_t>(Z_samepageZ_matmul(ctx, handle(), handle(), handle())); break;
      case 5: rc = static_cast<int32_t>(Z_samepageZ_rmsnorm(ctx, handle(), handle(), handle(), scalar())); break;
      case 6:
        rc = static_cast<int32_t>(Z_samepageZ_rope(ctx, handle(), handle(), pick({0, 1, 100, 0xffffffffu, 0xc0000000u}),
                                                   scalar(), scalar(), pick({0, 1, 2})));
        break;
      case 7:
        rc = static_cast<int32_t>(Z_samepageZ_attention(ctx, handle(), handle(), handle(), handle(),
                                                        pick({0, 1, 3, 0xffffffffu, 0x7fffffffu})));
        break;
      case 8: rc = static_cast<int32_t>(Z_samepageZ_silu_mul(ctx, handle(), handle(), handle())); break;
      case 9: rc = static_cast<int32_t>(Z_samepageZ_add(ctx, handle(), handle(), handle())); break;
      case 10: rc = static_cast<int32_t>(Z_samepageZ_scale(ctx, handle(), handle(), scalar())); break;
      case 11: rc = static_cast<int32_t>(Z_samepageZ_embedding(ctx, handle(), handle(), handle())); break;
      case 12: rc = static_cast<int32_t>(Z_samepageZ_softmax(ctx, handle(), handle())); break;
      case 13: rc = static_cast<int32_t>(Z_samepageZ_argmax(ctx, handle(), handle())); break;
      case 14: rc = static_cast<int32_t>(Z_samepageZ_copy(ctx, handle(), handle())); break;
      case 15: rc = static_cast<int32_t>(Z_samepageZ_record_begin(ctx)); break;
      case 16: rc = static_cast<int32_t>(Z_samepageZ_record_end(ctx)); break;
      case 17:
        rc = static_cast<int32_t>(Z_samepageZ_replay(ctx, pick({1, 2, 0, 0xffffffffu, uniform(0, 5)}), offset(),
                                                     pick({0, 1, 2, 1025, 0xffffffffu})));
        break;
      case 18: rc = static_cast<int32_t>(Z_samepageZ_tensor_info(ctx, handle(), offset())); break;
      case 19: rc = static_cast<int32_t>(Z_samepageZ_stats(ctx, offset())); break;
      case 20:
        rc = static_cast<int32_t>(Z_samepageZ_last_error(ctx, offset(), pick({0, 1, 16, 0xffffffffu, 1u << 20})));
        return;  // returns a length, not a status
      case 21:
        rc = static_cast<int32_t>(Z_samepageZ_set_rows(ctx, handle(), handle(),
                                                       pick({0, 1, 3, 0xffffffffu, 0x7fffffffu, 0xc0000000u})));
        break;
      case 22: {
        rc = static_cast<int32_t>(Z_samepageZ_sequence_free(ctx, pick({1, 2, 0, 0xffffffffu, uniform(0, 5)})));
        break;
      }
      case 23:
      case 24: {
        // Page-aligned guest addresses mostly, over a file of 3 pages (fd 3), or bad fds.
        const uint64_t file_offsets[6] = {0, 0, 4096, 1, ~0ull, 1ull << 40};
        const uint32_t at = pick({65536u * uniform(1, 70), 4096u * uniform(0, 1100), offset()});
        const uint32_t n = pick({1, 4096, 3 * 4096, 4 * 4096, 0, 0xffffffffu, uniform(1, 20000)});
        rc = static_cast<int32_t>(Z_samepageZ_map_file(ctx, pick({3, 3, 0, 4, 0xffffffffu}),
                                                       file_offsets[uniform(0, 5)], n, at));
        if (rc == 0) mapped_.push_back({at, n});
        break;
      }
      case 25: {
        if (!mapped_.empty() && uniform(0, 3) != 0) {
          const size_t k = uniform(0, uint32_t(mapped_.size() - 1));
          rc = static_cast<int32_t>(Z_samepageZ_unmap_file(ctx, mapped_[k].first, mapped_[k].second));
          if (rc == 0) mapped_.erase(mapped_.begin() + static_cast<long>(k));
        } else {
          rc = static_cast<int32_t>(Z_samepageZ_unmap_file(ctx, offset(), pick({0, 1, 4096, 0xffffffffu})));
        }
        break;
      }
      case 26:
      case 27: {
        // Aliases: mostly a shape of the same element count (so they live, get
        // freed in either order and feed ops), sometimes a random one.
        const uint32_t h = handle();
        uint32_t n = pick({1, 2, 3, 4, 0, 5});
        uint32_t at = shape(n);
        const uint32_t info_at = g_.alloc(sizeof(sp_tensor_info));
        if (uniform(0, 3) != 0 && Z_samepageZ_tensor_info(ctx, h, info_at) == 0) {
          const sp_tensor_info info = *g_.at<sp_tensor_info>(info_at);
          uint64_t count = 1;
          for (int32_t d = 0; d < info.n_dims; ++d) count *= info.shape[d];
          const uint32_t split = count % 64 == 0 ? 2 : 1;
          const uint32_t dims[4] = {split, uint32_t(count / split), 1, 1};
          at = g_.alloc(16);
          for (int d = 0; d < 4; ++d) g_.at<uint32_t>(at)[d] = dims[d];
          n = pick({2, 3, 4});
        }
        rc = static_cast<int32_t>(Z_samepageZ_tensor_reshape(ctx, h, n, at));
        if (rc > 0) live_.push_back(rc);
        break;
      }
      case 28:
        rc = static_cast<int32_t>(Z_samepageZ_rope_ext(ctx, handle(), handle(), handle(),
                                                       pick({0, 1, 100, 0xffffffffu, 0xc0000000u}), scalar(), scalar(),
                                                       pick({0, 1, 2})));
        break;
      case 29:
        rc = static_cast<int32_t>(Z_samepageZ_get_rows(ctx, handle(), handle(),
                                                       pick({0, 1, 3, 0xffffffffu, 0x7fffffffu, 0xc0000000u})));
        break;
    }
    ++n_calls_;
    if (rc < 0) {
      ++n_errors_;
      ASSERT_GE(rc, -9) << "unknown status code";
      ASSERT_FALSE(g_.last_error().empty()) << "an error without a message";
    }
  }

  int n_calls_ = 0, n_errors_ = 0;

 private:
  FakeGuest& g_;
  std::mt19937 rng_;
  std::vector<int32_t> live_;
  std::vector<std::pair<uint32_t, uint32_t>> mapped_;  // (guest address, bytes)
};

TEST(HostApiFuzz, RandomCallsNeverEscapeTheGuest) {
  // A file of 3 pages that sp_map_file may map (as guest fd 3).
  char path[] = "/tmp/samepage_fuzz_XXXXXX";
  const int file_fd = mkstemp(path);
  ASSERT_GE(file_fd, 0);
  unlink(path);
  std::vector<uint8_t> bytes(3 * 4096, 0x5a);
  ASSERT_EQ(write(file_fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  for (MemoryMode mode : {MemoryMode::MemoryMode_shared, MemoryMode::MemoryMode_copy}) {
    for (uint32_t seed = 1; seed <= 4; ++seed) {
      // 64 MiB of host memory: enough for every kind of call to succeed
      // sometimes, few enough that runtime tensors of 1<<20-element dims are
      // refused by the budget (a path to fuzz too) rather than making
      // element-wise ops over gigabytes dominate the run (minutes under ASan).
      GuestLimits limits;
      limits.host_bytes = uint64_t{64} << 20;
      FakeGuest g(mode, 64, std::make_shared<GuestAccount>(limits));
      // Put finite random values in the data area, so ops that do run compute on real numbers.
      std::mt19937 fill(seed);
      for (uint64_t i = 65536; i + 4 <= g.size_bytes(); i += 4) {
        const float v = std::uniform_real_distribution<float>(-2, 2)(fill);
        std::memcpy(g.base() + i, &v, 4);
      }
      g.add_file(3, file_fd);
      Fuzzer fuzzer(g, seed);
      for (int i = 0; i < 16000 && !::testing::Test::HasFatalFailure(); ++i) fuzzer.step();
      std::printf("[ HostApiFuzz ] %s seed %u: %d calls, %d refused\n", memory_mode_name(mode), seed,
                  int(fuzzer.n_calls_), int(fuzzer.n_errors_));
      EXPECT_GT(fuzzer.n_errors_, fuzzer.n_calls_ / 10) << "the fuzzer should mostly make bad calls";
      EXPECT_LT(fuzzer.n_errors_, fuzzer.n_calls_) << "and some good ones";
    }
  }
  close(file_fd);
}

}  // namespace
}  // namespace samepage
