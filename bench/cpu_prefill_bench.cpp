// Prefill-sized products on the CPU backend: y (m, n) = x (m, k) · W (n, k)ᵀ
// with m activation rows, through OpenBLAS sgemm (where installed) and
// through the hand-written kernels, as GFLOP/s (2·m·n·k per product).
//   cpu_prefill_bench [--rows M] [--reps R]
// Prints a markdown table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/blas.h"
#include "backends/cpu/matmul.h"

using namespace samepage;

namespace {

double median_ms(cpu::CpuContext& ctx, cpu::DType dtype, const std::vector<uint8_t>& w, const std::vector<float>& x,
                 std::vector<float>& y, int64_t m, int64_t n, int64_t k, int reps) {
  std::vector<double> ms;
  for (int r = 0; r <= reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!cpu::matmul(ctx, dtype, w.data(), x.data(), y.data(), m, n, k)) std::abort();
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) ms.push_back(t);  // the first run warms up
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t m = 64;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rows") m = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
  }
  cpu::CpuContext ctx;
  std::printf("CPU threads: %d; kernels: %s; BLAS: %s; rows m = %lld\n\n", ctx.n_threads(),
              cpu::cpu_isa_name(ctx.isa()), cpu::blas_description(), static_cast<long long>(m));
  std::printf("| shape (k→n) | dtype | sgemm GFLOP/s | kernels GFLOP/s | speed-up |\n|---|---|---:|---:|---:|\n");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const std::pair<int64_t, int64_t> shapes[] = {{2048, 2048}, {2048, 8192}, {8192, 2048}};
  for (const auto& [k, n] : shapes) {
    std::vector<float> x(static_cast<size_t>(m * k)), y(static_cast<size_t>(m * n)), row(static_cast<size_t>(k));
    for (float& v : x) v = dist(rng);
    for (cpu::DType dtype : {cpu::DType_f32, cpu::DType_bf16}) {  // the dtypes sgemm takes
      const size_t rb = cpu::row_bytes(dtype, k);
      std::vector<uint8_t> w(rb * size_t(n));
      for (int64_t r = 0; r < n; ++r) {
        for (float& v : row) v = dist(rng);
        (void)cpu::quantize_row(dtype, row.data(), w.data() + size_t(r) * rb, k);
      }
      const double flop = 2.0 * double(m) * double(n) * double(k);
      ctx.set_use_blas(true);
      const double blas_ms = median_ms(ctx, dtype, w, x, y, m, n, k, reps);
      ctx.set_use_blas(false);
      const double kern_ms = median_ms(ctx, dtype, w, x, y, m, n, k, reps);
      std::printf("| %lld→%lld | %s | %.1f | %.1f | %.2f× |\n", static_cast<long long>(k), static_cast<long long>(n),
                  cpu::dtype_name(dtype), flop / blas_ms / 1e6, flop / kern_ms / 1e6, kern_ms / blas_ms);
    }
  }
  return 0;
}
