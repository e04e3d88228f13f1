// CUDA batch-1 GEMV at the decode shapes of a 1B Llama (dim 2048, kv 512,
// ffn 8192, vocab 128256), every 16-bit and quant weight dtype, against the
// device-to-device copy bandwidth measured in the same run.
//
//   cuda_gemv_bench [--reps R] [--rotate-mib M]
//
// What is timed is what the backend enqueues for one sp_matmul of one row
// with weights resident in HBM: for quant weights the activation
// quantization kernel and the GEMV, else the GEMV alone (no host sync, no
// launch gap: R calls back to back between two CUDA events). Each case
// rotates through enough weight copies (>= --rotate-mib, default 512 MiB,
// well above the 60 MB L2) that every call reads HBM. GB/s counts weight
// bytes read; the copy's counts bytes read plus written (its traffic), so
// the ratio is the share of the memory system a GEMV gets. Markdown table.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/dtype.h"
#include "backends/cuda/kernels.h"

namespace {

namespace cuda = samepage::cuda;
using samepage::DType;

#define CHECK(call)                                                                               \
  do {                                                                                            \
    if (cudaError_t e_ = (call); e_ != cudaSuccess) {                                             \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e_));                            \
      return 1;                                                                                   \
    }                                                                                             \
  } while (0)

struct Shape {
  int64_t n, k;
  const char* what;
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 200;
  double rotate_mib = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rotate-mib")) rotate_mib = std::atof(argv[i + 1]);
  }
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  cudaEvent_t t0, t1;
  CHECK(cudaEventCreate(&t0));
  CHECK(cudaEventCreate(&t1));

  // Device-to-device copy: 1 GiB, median of 10 timed copies after a warm-up.
  const size_t copy_bytes = size_t(1) << 30;
  void *a = nullptr, *b = nullptr;
  CHECK(cudaMalloc(&a, copy_bytes));
  CHECK(cudaMalloc(&b, copy_bytes));
  CHECK(cudaMemset(a, 1, copy_bytes));
  CHECK(cudaMemcpyAsync(b, a, copy_bytes, cudaMemcpyDeviceToDevice, s));
  std::vector<float> copy_ms;
  for (int r = 0; r < 10; ++r) {
    CHECK(cudaEventRecord(t0, s));
    CHECK(cudaMemcpyAsync(b, a, copy_bytes, cudaMemcpyDeviceToDevice, s));
    CHECK(cudaEventRecord(t1, s));
    CHECK(cudaEventSynchronize(t1));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, t0, t1));
    copy_ms.push_back(ms);
  }
  std::sort(copy_ms.begin(), copy_ms.end());
  const double copy_gbps = 2.0 * double(copy_bytes) / (copy_ms[5] * 1e6);  // read + written
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));

  const Shape shapes[] = {{2048, 2048, "q/o proj"}, {512, 2048, "k/v proj"}, {8192, 2048, "gate/up"},
                          {2048, 8192, "down"},     {128256, 2048, "lm head"}};
  const DType dtypes[] = {samepage::DType_bf16, samepage::DType_f16, samepage::DType_q8_0, samepage::DType_q4_0,
                          samepage::DType_q4_1};
  std::printf("GPU: %s; device-to-device copy: %.0f GB/s (read + written, 1 GiB)\n\n", prop.name, copy_gbps);
  std::printf("| dtype | n × k | what | weight MiB | µs / call | weight GB/s | of copy bandwidth |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (DType dt : dtypes) {
    for (const Shape& sh : shapes) {
      const size_t row_bytes = samepage::dtype_row_bytes(dt, sh.k);
      const size_t w_bytes = row_bytes * size_t(sh.n);
      // A 64-row random pattern, quantized by the CPU reference, tiled.
      const int64_t pattern_rows = 64;
      std::vector<float> src(size_t(pattern_rows * sh.k));
      for (float& v : src) v = dist(rng);
      std::vector<uint8_t> pattern(row_bytes * pattern_rows);
      for (int64_t r = 0; r < pattern_rows; ++r)
        if (!samepage::cpu::quantize_row(dt, src.data() + r * sh.k, pattern.data() + r * row_bytes, sh.k).is_ok())
          return 1;
      std::vector<uint8_t> host(w_bytes);
      for (size_t at = 0; at < w_bytes; at += pattern.size())
        std::memcpy(host.data() + at, pattern.data(), std::min(pattern.size(), w_bytes - at));
      const int n_copies = std::max(1, int(rotate_mib * 1048576.0 / double(w_bytes) + 0.999));
      std::vector<void*> w(static_cast<size_t>(n_copies));
      for (void*& p : w) {
        CHECK(cudaMalloc(&p, w_bytes));
        CHECK(cudaMemcpy(p, host.data(), w_bytes, cudaMemcpyHostToDevice));
      }
      std::vector<float> xh(size_t(sh.k));
      for (float& v : xh) v = dist(rng);
      float *x = nullptr, *y = nullptr, *xd = nullptr;
      int8_t* qs = nullptr;
      CHECK(cudaMalloc(reinterpret_cast<void**>(&x), xh.size() * 4));
      CHECK(cudaMalloc(reinterpret_cast<void**>(&y), size_t(sh.n) * 4));
      CHECK(cudaMalloc(reinterpret_cast<void**>(&qs), size_t(sh.k)));
      CHECK(cudaMalloc(reinterpret_cast<void**>(&xd), size_t(sh.k / 32) * 4));
      CHECK(cudaMemcpy(x, xh.data(), xh.size() * 4, cudaMemcpyHostToDevice));
      const cuda::QuantizedX xq{qs, xd, nullptr};
      const bool quant = samepage::dtype_is_quantized(dt);
      auto call = [&](int i) {
        if (quant) (void)cuda::launch_quantize_x(cuda::LaunchStream{s, false}, x, sh.k, xq);
        return cuda::launch_gemv(s, dt, w[size_t(i % n_copies)], x, xq, y, 1, sh.n, sh.k);
      };
      for (int i = 0; i < n_copies; ++i)
        if (!call(i).is_ok()) return 1;
      CHECK(cudaEventRecord(t0, s));
      for (int i = 0; i < reps; ++i) (void)call(i);
      CHECK(cudaEventRecord(t1, s));
      CHECK(cudaEventSynchronize(t1));
      float ms = 0;
      CHECK(cudaEventElapsedTime(&ms, t0, t1));
      const double us = 1000.0 * ms / reps;
      const double gbps = double(w_bytes) / (us * 1e3);
      std::printf("| %s | %lld × %lld | %s | %.1f | %.2f | %.0f | %.0f%% |\n", samepage::dtype_name(dt),
                  (long long)sh.n, (long long)sh.k, sh.what, double(w_bytes) / 1048576.0, us, gbps,
                  100.0 * gbps / copy_gbps);
      for (void* p : w) CHECK(cudaFree(p));
      CHECK(cudaFree(x));
      CHECK(cudaFree(y));
      CHECK(cudaFree(qs));
      CHECK(cudaFree(xd));
    }
  }
  return 0;
}
