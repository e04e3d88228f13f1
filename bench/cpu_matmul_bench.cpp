// CPU GEMV benchmark at the decode shapes of a 1B Llama (dim 2048, kv 512,
// ffn 8192), every weight dtype, against the machine's streaming read
// bandwidth measured in the same run with the same threads.
//
//   cpu_matmul_bench [--threads N] [--isa scalar|avx2|avx512] [--reps R] [--rotate-mib M]
//
// GEMV is memory-bound, so the figure of merit is weight bytes read per
// second. Each case rotates through enough weight copies (>= --rotate-mib,
// default 512 MiB, well above any L3) that every call reads from DRAM; the
// time of one pass over all copies, divided by the copies, is one sample;
// the table shows the median of R samples. Prints a markdown table at the end.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "backends/cpu/context.h"
#include "backends/cpu/dtype.h"
#include "backends/cpu/matmul.h"

namespace {

using samepage::cpu::CpuContext;
using samepage::cpu::CpuIsa;
using samepage::cpu::DType;
namespace cpu = samepage::cpu;

using Clock = std::chrono::steady_clock;

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, AlignedFree>;

Buffer alloc_bytes(size_t n_bytes) {
  // 2 MiB alignment lets the kernel back large buffers with huge pages.
  const size_t align = 2u << 20;
  return Buffer(static_cast<uint8_t*>(std::aligned_alloc(align, (n_bytes + align - 1) / align * align)));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t sum_bytes_avx2(const uint8_t* p, size_t n_bytes) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n_bytes; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  uint64_t out[4];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), s);
  return out[0] + out[1] + out[2] + out[3];
}
#endif

uint64_t sum_bytes(const uint8_t* p, size_t n_bytes) {
#if defined(__x86_64__)
  if (cpu::cpu_isa_supported(cpu::CpuIsa_avx2)) return sum_bytes_avx2(p, n_bytes);
#endif
  uint64_t s[4] = {0, 0, 0, 0};
  const auto* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i + 4 <= n_bytes / 8; i += 4) {
    for (int j = 0; j < 4; ++j) s[j] += w[i + j];
  }
  return s[0] + s[1] + s[2] + s[3];
}

// Streaming read of the buffer (all bytes 1) split over the pool's threads;
// appends one GB/s (1e9 bytes/s) sample per repeat.
void memory_read_gbps(CpuContext& ctx, const Buffer& buf, size_t n_bytes, int reps, std::vector<double>* samples) {
  const size_t chunk = size_t(1) << 20;
  std::vector<uint64_t> sink(n_bytes / chunk);
  for (int rep = 0; rep < reps + 1; ++rep) {
    const auto t0 = Clock::now();
    ctx.pool().parallel_for(int64_t(n_bytes / chunk), 4, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) sink[size_t(c)] = sum_bytes(buf.get() + size_t(c) * chunk, chunk);
    });
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (rep > 0) samples->push_back(double(n_bytes) / s / 1e9);  // rep 0 warms up
  }
  // Every byte is 1, so every 8-byte word adds 0x0101010101010101 (mod 2^64).
  uint64_t total = 0;
  for (uint64_t v : sink) total += v;
  if (total != uint64_t(n_bytes / 8) * 0x0101010101010101ull) std::fprintf(stderr, "memory read check failed\n");
}

struct Shape {
  const char* name;
  int64_t k, n;
};

}  // namespace

int main(int argc, char** argv) {
  int n_threads = 0, reps = 9;
  size_t rotate_bytes = size_t(512) << 20;
  CpuIsa isa = cpu::cpu_isa_best();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--threads") {
      n_threads = std::atoi(value.c_str());
    } else if (flag == "--reps") {
      reps = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--rotate-mib") {
      rotate_bytes = size_t(std::max(1, std::atoi(value.c_str()))) << 20;
    } else if (flag == "--isa") {
      isa = value == "scalar" ? cpu::CpuIsa_scalar : value == "avx2" ? cpu::CpuIsa_avx2 : cpu::CpuIsa_avx512;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  CpuContext ctx(n_threads);
  if (!ctx.set_isa(isa)) {
    std::fprintf(stderr, "ISA %s is not supported here\n", cpu::cpu_isa_name(isa));
    return 2;
  }

  // Memory bandwidth is sampled before every shape, so that on a shared
  // machine the reference drifts with the GEMV numbers; the table uses the
  // median of all samples.
  const size_t mem_bytes = size_t(1) << 30;
  Buffer mem = alloc_bytes(mem_bytes);
  std::memset(mem.get(), 1, mem_bytes);  // fault the pages in before timing
  std::vector<double> mem_samples;
  std::vector<std::string> rows;

  const Shape shapes[] = {{"attn q/o 2048→2048", 2048, 2048},
                          {"attn k/v 2048→512", 2048, 512},
                          {"ffn up/gate 2048→8192", 2048, 8192},
                          {"ffn down 8192→2048", 8192, 2048}};
  const DType dtypes[] = {cpu::DType_f32, cpu::DType_f16, cpu::DType_bf16,
                          cpu::DType_q8_0, cpu::DType_q4_0, cpu::DType_q4_1};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Shape& shape : shapes) {
    memory_read_gbps(ctx, mem, mem_bytes, reps, &mem_samples);
    std::vector<float> x(size_t(shape.k)), y(size_t(shape.n));
    for (float& v : x) v = dist(rng);
    std::vector<float> row(size_t(shape.k));
    for (DType dtype : dtypes) {
      const size_t w_row_bytes = cpu::row_bytes(dtype, shape.k);
      const size_t w_bytes = w_row_bytes * size_t(shape.n);
      // Copies start at 4 KiB multiples so they do not alias in the cache sets.
      const size_t stride = (w_bytes + 4095) / 4096 * 4096;
      const size_t n_copies = std::max<size_t>(1, (rotate_bytes + w_bytes - 1) / w_bytes);
      Buffer weights = alloc_bytes(stride * n_copies);
      for (int64_t r = 0; r < shape.n; ++r) {
        for (float& v : row) v = dist(rng);
        (void)cpu::quantize_row(dtype, row.data(), weights.get() + size_t(r) * w_row_bytes, shape.k);
      }
      for (size_t c = 1; c < n_copies; ++c) std::memcpy(weights.get() + c * stride, weights.get(), w_bytes);

      std::vector<double> samples;
      for (int rep = 0; rep < reps + 1; ++rep) {
        const auto t0 = Clock::now();
        for (size_t c = 0; c < n_copies; ++c) {
          const samepage::Status s = cpu::matmul(ctx, dtype, weights.get() + c * stride, x.data(), y.data(), 1,
                                                 shape.n, shape.k);
          if (!s) {
            std::fprintf(stderr, "%s\n", s.message().c_str());
            return 1;
          }
        }
        const double per_call = std::chrono::duration<double>(Clock::now() - t0).count() / double(n_copies);
        if (rep > 0) samples.push_back(per_call);  // rep 0 warms up
      }
      const double t = median(samples);
      char row[256];
      std::snprintf(row, sizeof row, "| %s | %s | %.2f | %.1f | %.1f |", shape.name, cpu::dtype_name(dtype),
                    double(w_bytes) / double(1 << 20), t * 1e6, double(w_bytes) / t / 1e9);
      rows.push_back(row);
    }
  }
  memory_read_gbps(ctx, mem, mem_bytes, reps, &mem_samples);

  const double mem_gbps = median(mem_samples);
  std::printf("CPU: %s; threads: %d; kernels: %s\n", cpu_model().c_str(), ctx.n_threads(), cpu::cpu_isa_name(ctx.isa()));
  std::printf("Memory read bandwidth (1 GiB streaming sum, same threads, %zu samples during the run): "
              "median %.1f GB/s (min %.1f, max %.1f)\n\n",
              mem_samples.size(), mem_gbps, *std::min_element(mem_samples.begin(), mem_samples.end()),
              *std::max_element(mem_samples.begin(), mem_samples.end()));
  std::printf("| shape (k→n) | dtype | weights (MiB) | µs / GEMV | GB/s | %% of mem BW |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  for (const std::string& row : rows) {
    // GB/s is the last number of the row.
    const double gbps = std::atof(row.substr(row.rfind('|', row.size() - 2) + 1).c_str());
    std::printf("%s %.0f%% |\n", row.c_str(), 100.0 * gbps / mem_gbps);
  }
  return 0;
}
