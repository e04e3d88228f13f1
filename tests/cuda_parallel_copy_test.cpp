// The CUDA backend's staged uploads fill pinned buffers with a threaded
// memcpy (backends/cuda/parallel_copy.h, plain C++): every byte arrives once,
// at any size and thread count, cuts included; nothing past the end moves.
// Built only with the CUDA backend, whose part holds the header.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#if SAMEPAGE_TEST_CUDA_INTERNALS
#include "backends/cuda/parallel_copy.h"

namespace samepage::cuda {
namespace {

TEST(CudaParallelCopy, EveryByteOnceAtAnySizeAndThreadCount) {
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{63}, uint64_t{64}, uint64_t{1000}, uint64_t{4097},
                     uint64_t{3} << 20}) {
    std::vector<uint8_t> src(n), dst(n + 64, 0xAB);
    for (uint64_t i = 0; i < n; ++i) src[i] = uint8_t(i * 131 + (i >> 9));
    for (unsigned threads : {0u, 1u, 2u, 3u, 7u, 8u}) {
      std::fill(dst.begin(), dst.end(), 0xAB);
      parallel_copy(dst.data(), src.data(), n, threads);
      for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(dst[i], src[i]) << "n " << n << ", threads " << threads << ", byte " << i;
      for (uint64_t i = n; i < n + 64; ++i) ASSERT_EQ(dst[i], 0xAB) << "written past the end: n " << n;
    }
  }
}

TEST(CudaParallelCopy, ThreadsFollowTheSize) {
  EXPECT_EQ(copy_threads(0), 1u);
  EXPECT_EQ(copy_threads(512 << 10), 1u);
  EXPECT_LE(copy_threads(uint64_t{16} << 20), 8u);
  EXPECT_GE(copy_threads(uint64_t{16} << 20), 1u);
}

}  // namespace
}  // namespace samepage::cuda
#endif  // SAMEPAGE_TEST_CUDA_INTERNALS
