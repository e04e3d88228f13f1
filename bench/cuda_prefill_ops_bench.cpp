// The CUDA prefill's two heavy kernels at Llama-3.2-1B shapes, as the
// backend enqueues them: the GEMM (cuBLAS; with the activation conversion,
// and for quant weights the per-call dequantization) for m prompt rows, and
// the tensor-core attention over a 512-token chunk at a few cache offsets;
// and the decode attention (one query token) over contexts up to 16,384.
// R calls back to back between two CUDA events, weights and caches in HBM.
//
//   cuda_prefill_ops_bench [--m M] [--reps R]     (default m 512, R 50)
//
// TFLOP/s counts 2·m·n·k for a GEMM and the causal half of 4·T·ctx·D per
// head for attention. Markdown tables.
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/dtype.h"
#include "backends/cuda/cublas_gemm.h"
#include "backends/cuda/kernels.h"
#include "cuda_bench_check.h"

namespace {

namespace cuda = samepage::cuda;
using samepage::DType;

#define TRY(call)                                                          \
  do {                                                                     \
    if (samepage::Status s_ = (call); !s_) {                               \
      std::fprintf(stderr, "%s: %s\n", #call, s_.message().c_str());       \
      return 1;                                                            \
    }                                                                      \
  } while (0)

struct Shape {
  int64_t n, k;
  const char* what;
};

// A device copy of rows × k random values in [-1, 1], stored as dt.
int upload_random(DType dt, int64_t rows, int64_t k, void** out, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const size_t row_bytes = samepage::dtype_row_bytes(dt, k);
  std::vector<float> src(static_cast<size_t>(k));
  std::vector<uint8_t> host(row_bytes * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : src) v = dist(rng);
    if (!samepage::cpu::quantize_row(dt, src.data(), host.data() + size_t(r) * row_bytes, k).is_ok()) return 1;
  }
  CHECK(cudaMalloc(out, host.size()));
  CHECK(cudaMemcpy(*out, host.data(), host.size(), cudaMemcpyHostToDevice));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t m = 512;
  int reps = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--m")) m = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
  }
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  cudaEvent_t t0, t1;
  CHECK(cudaEventCreate(&t0));
  CHECK(cudaEventCreate(&t1));
  std::mt19937 rng(11);
  auto time_us = [&](auto&& call, float* us) -> int {
    for (int i = 0; i < 3; ++i) TRY(call());
    CHECK(cudaEventRecord(t0, s));
    for (int i = 0; i < reps; ++i) TRY(call());
    CHECK(cudaEventRecord(t1, s));
    CHECK(cudaEventSynchronize(t1));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, t0, t1));
    *us = 1000.0f * ms / float(reps);
    return 0;
  };

  std::printf("GPU: %s; prefill GEMM, m = %lld rows\n\n", prop.name, (long long)m);
  std::printf("| dtype | n × k | what | µs / call | TFLOP/s |\n|---|---|---|---|---|\n");
  cuda::BlasGemm blas;
  TRY(blas.ensure(s));
  const Shape shapes[] = {{2048, 2048, "q/o proj"}, {512, 2048, "k/v proj"}, {8192, 2048, "gate/up"},
                          {2048, 8192, "down"}};
  const DType dtypes[] = {samepage::DType_bf16, samepage::DType_f16, samepage::DType_f32, samepage::DType_q8_0,
                          samepage::DType_q4_0, samepage::DType_q4_1};
  for (DType dt : dtypes)
    for (const Shape& sh : shapes) {
      void *w = nullptr, *x = nullptr, *y = nullptr, *scratch = nullptr;
      if (upload_random(dt, sh.n, sh.k, &w, rng) || upload_random(samepage::DType_f32, m, sh.k, &x, rng)) return 1;
      CHECK(cudaMalloc(&y, size_t(m * sh.n) * 4));
      const uint64_t need = cuda::gemm_scratch_bytes(dt, m, sh.n, sh.k);
      if (need > 0) CHECK(cudaMalloc(&scratch, need));
      float us = 0;
      if (time_us([&] { return blas.run(s, dt, w, static_cast<float*>(x), static_cast<float*>(y), m, sh.n, sh.k,
                                        static_cast<uint8_t*>(scratch)); }, &us))
        return 1;
      std::printf("| %s | %lld × %lld | %s | %.2f | %.1f |\n", samepage::dtype_name(dt), (long long)sh.n,
                  (long long)sh.k, sh.what, us, 2.0 * double(m) * double(sh.n) * double(sh.k) / (us * 1e6));
      for (void* p : {w, x, y, scratch})
        if (p != nullptr) CHECK(cudaFree(p));
    }

  // Attention: 512 query tokens, 32 heads over 8 KV heads of 64, f16 cache.
  const int64_t T = 512, H = 32, KVH = 8, D = 64, C = 4096;
  std::printf("\n| cache | tokens | at position | µs / call | TFLOP/s |\n|---|---|---|---|---|\n");
  for (DType dt : {samepage::DType_f16, samepage::DType_bf16}) {
    void *q = nullptr, *k = nullptr, *v = nullptr, *out = nullptr;
    if (upload_random(samepage::DType_f32, T * H, D, &q, rng) || upload_random(dt, C * KVH, D, &k, rng) ||
        upload_random(dt, C * KVH, D, &v, rng))
      return 1;
    CHECK(cudaMalloc(&out, size_t(T * H * D) * 4));
    for (int64_t pos0 : {int64_t(0), int64_t(1536), int64_t(3584)}) {
      cuda::AttentionArgs a{static_cast<float*>(q), k, v, static_cast<float*>(out), dt, T, H, KVH, D, C, pos0};
      float us = 0;
      if (time_us([&] { return cuda::launch_attention(cuda::LaunchStream{s, false}, a); }, &us)) return 1;
      const double visible = double(T) * (double(pos0) + double(T + 1) / 2.0);  // (query, key) pairs
      std::printf("| %s | %lld | %lld | %.2f | %.1f |\n", samepage::dtype_name(dt), (long long)T, (long long)pos0, us,
                  4.0 * visible * double(D) * double(H) / (us * 1e6));
    }
    for (void* p : {q, k, v, out}) CHECK(cudaFree(p));
  }

  // Decode attention: one query token over a context of ctx positions, its
  // item (head) in one block or in a cluster of 2, 4 or 8.
  const int64_t Cd = 16384;
  std::printf("\n| cache | context | blocks a head | µs / call | cache GB/s |\n|---|---|---|---|---|\n");
  for (DType dt : {samepage::DType_bf16, samepage::DType_f32}) {
    void *q = nullptr, *k = nullptr, *v = nullptr, *out = nullptr;
    if (upload_random(samepage::DType_f32, H, D, &q, rng) || upload_random(dt, Cd * KVH, D, &k, rng) ||
        upload_random(dt, Cd * KVH, D, &v, rng))
      return 1;
    CHECK(cudaMalloc(&out, size_t(H * D) * 4));
    for (int64_t ctx : {int64_t(64), int64_t(256), int64_t(1024), int64_t(4096), int64_t(16384)})
      for (int split : {1, 2, 4, 8}) {
        cuda::AttentionArgs a{static_cast<float*>(q), k, v, static_cast<float*>(out), dt, 1, H, KVH, D, Cd, ctx - 1};
        a.split = split;
        float us = 0;
        if (time_us([&] { return cuda::launch_attention(cuda::LaunchStream{s, false}, a); }, &us)) return 1;
        const double bytes = 2.0 * double(ctx) * double(KVH * D) * double(samepage::dtype_row_bytes(dt, 1));
        std::printf("| %s | %lld | %d | %.2f | %.0f |\n", samepage::dtype_name(dt), (long long)ctx,
                    split, us, bytes / (us * 1e3));
      }
    for (void* p : {q, k, v, out}) CHECK(cudaFree(p));
  }
  return 0;
}
