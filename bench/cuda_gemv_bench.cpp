// CUDA batch-1 GEMV at the decode shapes of a 1B Llama (dim 2048, kv 512,
// ffn 8192, vocab 128256), every weight dtype, every kernel variant
// (gemv_plan.h), against the device-to-device copy bandwidth measured in the
// same run and, for bf16, against cuBLAS (cublasGemmEx, bf16 in, f32 out).
//
//   cuda_gemv_bench [--reps R] [--rotate-mib M] [--variant NAME[,NAME..]|all|default]
//                   [--dtype NAME[,NAME..]] [--no-cublas] [--pdl] [--stream-stages N[,N..]]
//                   [--rounded-x]
//
// What is timed is what the backend enqueues for one sp_matmul of m rows
// with weights resident in HBM: for quant weights the activation
// quantization kernel (unless the variant fuses it) and the GEMV, else the
// GEMV alone. R calls back to
// back, two ways: captured into one CUDA graph ("graph µs": no launch gaps,
// as a decode step's graph runs them) and plain stream launches ("plain
// µs": bounded by the host's launch rate for the small shapes). Each case
// rotates through enough weight copies (>= --rotate-mib, default 384 MiB,
// well above the 50 MB L2) that every call reads HBM. GB/s counts weight
// bytes read (from the graph time); the copy's counts bytes read plus
// written (its traffic), so "of copy" is the share of the memory system a
// GEMV gets. "err" is the largest |y - ref| over 16 sampled columns and all
// m rows, over the largest |ref|, against a double-precision reference
// computed here (quant: x rounded to 8-bit blocks as the backend does;
// cuBLAS: x rounded to bf16 on the device, so its err shows that rounding).
// "kernel" says which kernel a variant ran (a staged variant falls back to
// the warp kernel where it does not fit; "+qx": it quantized x itself, no
// quantize_x kernel); "group" is the grouped kernel with one part
// (gemv_group.h), which the backend runs for float weights; "group-packed" the same on quant weights in
// their GEMV layout (gemv_layout.h), and "-r4" with four rows a warp. A summary names the fastest variant for
// each case.
// --stream-stages: the ring sizes the streamed GEMV is timed at besides its
// default (default 4,8,16; each clamped to what fits, named as launched).
// --rounded-x: quant products find x already rounded to 8-bit blocks, as
// in a decode step's graph, where the producer of x (the add + rmsnorm,
// attention, the gate/up pair) rounds it: no quantize_x kernel is timed
// (x is rounded once before), so the rows are the GEMV kernel alone.
// --pdl launches as the backend does in a decode graph with PDL on: each
// GEMV (weights const) starts reading its weights while the previous call
// drains, so "graph µs" is the back-to-back rate.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/dtype.h"
#include "backends/cuda/gemv_group.h"
#include "backends/cuda/gemv_layout.h"
#include "backends/cuda/gemv_plan.h"
#include "backends/cuda/gemv_stream.h"
#include "backends/cuda/kernels.h"
#include "cuda_bench_check.h"

namespace {

namespace cuda = samepage::cuda;
using samepage::DType;


struct Shape {
  int64_t n, k;
  const char* what;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = s.find(',', at);
    out.push_back(s.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

// x rounded as quantize_x.cu does (per 32: d = amax / 127, q = rint(x / d) with 1/d first).
std::vector<float> round_to_8bit_blocks(const std::vector<float>& x) {
  std::vector<float> out(x.size());
  for (size_t b = 0; b < x.size(); b += 32) {
    float amax = 0.0f;
    for (size_t i = b; i < b + 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float scale = amax / 127.0f, inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    for (size_t i = b; i < b + 32; ++i) out[i] = std::nearbyint(x[i] * inv) * scale;
  }
  return out;
}

struct Timing {
  double graph_us = 0, plain_us = 0;
};

// R calls of call(i) back to back: as plain launches, and captured into one graph.
template <typename Call>
Timing time_calls(cudaStream_t s, cudaEvent_t t0, cudaEvent_t t1, int reps, Call call) {
  Timing t;
  for (int i = 0; i < std::min(reps, 20); ++i) call(i);  // warm-up
  CHECK(cudaEventRecord(t0, s));
  for (int i = 0; i < reps; ++i) call(i);
  CHECK(cudaEventRecord(t1, s));
  CHECK(cudaEventSynchronize(t1));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, t0, t1));
  t.plain_us = 1000.0 * ms / reps;
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < reps; ++i) call(i);
  CHECK(cudaStreamEndCapture(s, &graph));
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CHECK(cudaGraphLaunch(exec, s));  // warm-up (uploads the graph)
  float best = 1e30f;
  for (int rep = 0; rep < 3; ++rep) {
    CHECK(cudaEventRecord(t0, s));
    CHECK(cudaGraphLaunch(exec, s));
    CHECK(cudaEventRecord(t1, s));
    CHECK(cudaEventSynchronize(t1));
    CHECK(cudaEventElapsedTime(&ms, t0, t1));
    best = std::min(best, ms);
  }
  t.graph_us = 1000.0 * best / reps;
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 200;
  double rotate_mib = 384;
  std::string variant_arg = "all", dtype_arg = "f32,f16,bf16,q8_0,q4_0,q4_1";
  bool use_cublas = true, pdl = false, rounded_x = false;
  std::vector<int> stream_stages = {4, 8, 16};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--reps" && has) reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--rotate-mib" && has) rotate_mib = std::atof(argv[++i]);
    else if (a == "--variant" && has) variant_arg = argv[++i];
    else if (a == "--dtype" && has) dtype_arg = argv[++i];
    else if (a == "--no-cublas") use_cublas = false;
    else if (a == "--pdl") pdl = true;
    else if (a == "--rounded-x") rounded_x = true;
    else if (a == "--stream-stages" && has) {
      stream_stages.clear();
      for (const std::string& v : split(argv[++i])) stream_stages.push_back(std::max(1, std::atoi(v.c_str())));
    }
    else {
      std::fprintf(stderr,
                   "usage: cuda_gemv_bench [--reps R] [--rotate-mib M] [--variant NAME,..|all|default] "
                   "[--dtype NAME,..] [--no-cublas] [--pdl] [--stream-stages N,..] [--rounded-x]\n");
      return 2;
    }
  }
  std::vector<int> variants;
  for (const std::string& v : split(variant_arg)) {
    bool found = false;
    for (int i = 0; i < cuda::kGemvVariantCount; ++i) {
      const bool is_default = i == cuda::kGemvWarp || i == cuda::kGemvStaged || i == cuda::kGemvStagedS2Fused;
      if (v == "all" || v == cuda::kGemvVariants[i].name || (v == "default" && is_default)) {
        if (std::find(variants.begin(), variants.end(), i) == variants.end()) variants.push_back(i);
        found = true;
      }
    }
    if (!found) {
      std::fprintf(stderr, "no variant %s; there are:", v.c_str());
      for (const auto& gv : cuda::kGemvVariants) std::fprintf(stderr, " %s", gv.name);
      std::fprintf(stderr, "\n");
      return 2;
    }
  }
  std::vector<DType> dtypes;
  for (const std::string& name : split(dtype_arg)) {
    bool found = false;
    for (int d = 0; d < samepage::DType_count; ++d)
      if (name == samepage::dtype_name(DType(d)) && samepage::dtype_is_weight(DType(d))) {
        dtypes.push_back(DType(d));
        found = true;
      }
    if (!found) {
      std::fprintf(stderr, "no weight dtype %s\n", name.c_str());
      return 2;
    }
  }

  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaEvent_t t0, t1;
  CHECK(cudaEventCreate(&t0));
  CHECK(cudaEventCreate(&t1));

  // Device-to-device copy: 1 GiB, median of 10 timed copies after a warm-up.
  double copy_gbps = 0;
  {
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
    copy_gbps = 2.0 * double(copy_bytes) / (copy_ms[5] * 1e6);  // read + written
    CHECK(cudaFree(a));
    CHECK(cudaFree(b));
  }

  cublasHandle_t blas = nullptr;
  void* blas_ws = nullptr;
  const size_t blas_ws_bytes = size_t(32) << 20;
  if (use_cublas) {
    CHECK_BLAS(cublasCreate(&blas));
    CHECK_BLAS(cublasSetStream(blas, s));
    CHECK(cudaMalloc(&blas_ws, blas_ws_bytes));  // set, so capture allocates nothing
    CHECK_BLAS(cublasSetWorkspace(blas, blas_ws, blas_ws_bytes));
  }

  const Shape shapes[] = {{2048, 2048, "q/o"}, {512, 2048, "k/v"}, {8192, 2048, "gate/up"},
                          {2048, 8192, "down"}, {128256, 2048, "head"}};
  std::printf("GPU: %s, %d SMs; device-to-device copy: %.0f GB/s (read + written, 1 GiB); the backend picks a "
              "variant by shape (gemv_default_variant); %d calls a timing%s\n\n",
              prop.name, prop.multiProcessorCount, copy_gbps, reps,
              rounded_x ? "; quant x comes rounded (no quantize_x timed)" : "");
  std::printf("| variant | kernel | dtype | n × k | m | MiB | graph µs | GB/s | of copy | plain µs | err |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  struct Best {
    std::string name;
    double us = 1e30;
  };
  std::map<std::string, Best> best;  // "dtype n×k m" → fastest variant
  std::vector<std::string> order;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (DType dt : dtypes) {
    const bool quant = samepage::dtype_is_quantized(dt);
    for (const Shape& sh : shapes) {
      const size_t row_bytes = samepage::dtype_row_bytes(dt, sh.k);
      const size_t w_bytes = row_bytes * size_t(sh.n);
      // A 64-row random pattern in dt, by the CPU's quantize_row, tiled.
      const int64_t pattern_rows = 64;
      std::vector<float> src(size_t(pattern_rows * sh.k));
      for (float& v : src) v = dist(rng);
      std::vector<uint8_t> pattern(row_bytes * pattern_rows);
      for (int64_t r = 0; r < pattern_rows; ++r)
        if (!samepage::cpu::quantize_row(dt, src.data() + r * sh.k, pattern.data() + r * row_bytes, sh.k).is_ok())
          return 1;
      std::vector<float> pattern_f(size_t(pattern_rows * sh.k));  // what the GPU sees, as floats
      for (int64_t r = 0; r < pattern_rows; ++r)
        if (!samepage::cpu::dequantize_row(dt, pattern.data() + r * row_bytes, pattern_f.data() + r * sh.k, sh.k)
                 .is_ok())
          return 1;
      // The copies in one allocation, 256 bytes apart at least (as cudaMalloc aligns).
      const int n_copies = std::max(1, int(rotate_mib * 1048576.0 / double(w_bytes) + 0.999));
      const size_t stride = (w_bytes + 255) / 256 * 256;
      uint8_t* w_all = nullptr;
      CHECK(cudaMalloc(reinterpret_cast<void**>(&w_all), stride * size_t(n_copies)));
      std::vector<void*> w(static_cast<size_t>(n_copies));
      for (int i = 0; i < n_copies; ++i) w[size_t(i)] = w_all + stride * size_t(i);
      {
        std::vector<uint8_t> host(w_bytes);
        for (size_t at = 0; at < w_bytes; at += pattern.size())
          std::memcpy(host.data() + at, pattern.data(), std::min(pattern.size(), w_bytes - at));
        CHECK(cudaMemcpy(w[0], host.data(), w_bytes, cudaMemcpyHostToDevice));
      }
      for (int i = 1; i < n_copies; ++i)
        CHECK(cudaMemcpyAsync(w[size_t(i)], w[0], w_bytes, cudaMemcpyDeviceToDevice, s));
      // Quant weights: their GEMV layout too, a copy of each.
      std::vector<void*> packed_w;
      uint8_t* packed_all = nullptr;
      if (cuda::gemv_layout_applies(dt, sh.k)) {
        const size_t packed_bytes = (cuda::gemv_layout_row_bytes(dt, sh.k) * size_t(sh.n) + 255) / 256 * 256;
        CHECK(cudaMalloc(reinterpret_cast<void**>(&packed_all), packed_bytes * size_t(n_copies)));
        for (int i = 0; i < n_copies; ++i) {
          packed_w.push_back(packed_all + packed_bytes * size_t(i));
          if (!cuda::launch_to_gemv_layout(s, dt, w[size_t(i)], packed_w.back(), sh.n, sh.k).is_ok()) return 1;
        }
      }
      // bf16 weights: cuBLAS reads the same copies.
      std::vector<int64_t> ms = {1};
      if (dt == samepage::DType_bf16 || dt == samepage::DType_q4_0) ms.push_back(4);
      for (int64_t m : ms) {
        std::vector<float> xh(size_t(m * sh.k));
        for (float& v : xh) v = dist(rng);
        float *x = nullptr, *y = nullptr, *xd = nullptr;
        int8_t* qs = nullptr;
        __nv_bfloat16* xb = nullptr;
        CHECK(cudaMalloc(reinterpret_cast<void**>(&x), xh.size() * 4));
        CHECK(cudaMalloc(reinterpret_cast<void**>(&y), size_t(m * sh.n) * 4));
        CHECK(cudaMalloc(reinterpret_cast<void**>(&qs), xh.size()));
        CHECK(cudaMalloc(reinterpret_cast<void**>(&xd), xh.size() / 32 * 4));
        CHECK(cudaMemcpy(x, xh.data(), xh.size() * 4, cudaMemcpyHostToDevice));
        // The reference on 16 sampled columns (first, last, spread).
        const std::vector<float> xr = quant ? round_to_8bit_blocks(xh) : xh;
        std::vector<int64_t> cols;
        for (int i = 0; i < 16; ++i) cols.push_back(i == 15 ? sh.n - 1 : (sh.n - 1) * i / 15);
        std::vector<double> ref(size_t(m) * cols.size());
        double ref_max = 0;
        for (int64_t r = 0; r < m; ++r)
          for (size_t c = 0; c < cols.size(); ++c) {
            const float* wr = pattern_f.data() + (cols[c] % pattern_rows) * sh.k;
            double acc = 0;
            for (int64_t i = 0; i < sh.k; ++i) acc += double(wr[i]) * double(xr[size_t(r * sh.k + i)]);
            ref[size_t(r) * cols.size() + c] = acc;
            ref_max = std::max(ref_max, std::fabs(acc));
          }
        auto error = [&]() {
          std::vector<float> yh(size_t(m * sh.n));
          CHECK(cudaMemcpy(yh.data(), y, yh.size() * 4, cudaMemcpyDeviceToHost));
          double worst = 0;
          for (int64_t r = 0; r < m; ++r)
            for (size_t c = 0; c < cols.size(); ++c)
              worst = std::max(
                  worst, std::fabs(double(yh[size_t(r * sh.n + cols[c])]) - ref[size_t(r) * cols.size() + c]));
          return worst / std::max(ref_max, 1e-30);
        };
        const cuda::QuantizedX xq{qs, xd};
        // Each timed call rounds x first, unless x comes rounded (then once, here).
        const bool quantize_each = quant && !rounded_x;
        if (quant && rounded_x) {
          CHECK(cuda::launch_quantize_x({s, false}, x, m * sh.k, xq).is_ok() ? cudaSuccess : cudaErrorUnknown);
          CHECK(cudaStreamSynchronize(s));
        }
        const std::string key = std::string(samepage::dtype_name(dt)) + " " + std::to_string(sh.n) + "×" +
                                std::to_string(sh.k) + " m=" + std::to_string(m);
        order.push_back(key);
        auto row = [&](const char* name, const char* kernel, const Timing& t, double err) {
          const double gbps = double(w_bytes) / (t.graph_us * 1e3);
          std::printf("| %s | %s | %s | %lld × %lld | %lld | %.1f | %.2f | %.0f | %.0f%% | %.2f | %.1e |\n", name,
                      kernel, samepage::dtype_name(dt), (long long)sh.n, (long long)sh.k, (long long)m,
                      double(w_bytes) / 1048576.0, t.graph_us, gbps, 100.0 * gbps / copy_gbps, t.plain_us, err);
          std::fflush(stdout);
          Best& b = best[key];
          if (t.graph_us < b.us) b = {name, t.graph_us};
        };
        for (int v : variants) {
          const cuda::GemvVariant& gv = cuda::kGemvVariants[v];
          const cuda::GemvPlan plan = cuda::plan_gemv(gv, dt, m, sh.n, sh.k, reinterpret_cast<uintptr_t>(w[0]),
                                                      reinterpret_cast<uintptr_t>(x), prop.multiProcessorCount);
          const bool separate_quantize =
              quantize_each && !cuda::gemv_quantizes_x_variant(v, dt, m, sh.n, sh.k, w[0], x);
          // A staged variant that falls back to the warp kernel is not timed twice.
          if (gv.kernel == cuda::GemvKernel::staged && plan.kernel != cuda::GemvKernel::staged) continue;
          bool ok = true;
          auto call = [&](int i) {
            const cuda::LaunchStream ls{s, pdl};
            if (separate_quantize) ok = ok && cuda::launch_quantize_x(ls, x, m * sh.k, xq).is_ok();
            ok = ok && cuda::launch_gemv_variant(ls, v, dt, w[size_t(i % n_copies)], pdl, x, xq, y, m, sh.n, sh.k)
                           .is_ok();
          };
          CHECK(cudaMemsetAsync(y, 0xff, size_t(m * sh.n) * 4, s));  // NaN: an unwritten column shows
          call(0);
          CHECK(cudaStreamSynchronize(s));
          const double err = error();
          const Timing t = time_calls(s, t0, t1, reps, call);
          if (!ok) {
            std::fprintf(stderr, "%s %s: launch failed\n", gv.name, key.c_str());
            return 1;
          }
          row(gv.name, plan.kernel == cuda::GemvKernel::staged ? (plan.quantize_x ? "staged+qx" : "staged") : "warp", t,
              err);
        }
        // The grouped kernel with one part (gemv_group.h): what the backend runs for float weights;
        // for quant weights on their GEMV layout (gemv_layout.h), a row or four rows a warp.
        auto run_group = [&](const char* name, const std::vector<void*>& ws, bool packed, int rows_per_task) {
          const void* w0 = ws[0];
          if (!cuda::gemv_group_fits(dt, m, sh.k, &w0, 1, x)) return 0;
          bool ok = true;
          auto call = [&](int i) {
            const cuda::LaunchStream ls{s, pdl};
            if (quantize_each) ok = ok && cuda::launch_quantize_x(ls, x, m * sh.k, xq).is_ok();
            cuda::GemvGroupArgs g{};
            g.dtype = dt;
            g.m = m;
            g.k = sh.k;
            g.x = x;
            g.xq = xq;
            g.n_parts = 1;
            g.w[0] = ws[size_t(i % n_copies)];
            g.y[0] = y;
            g.n[0] = sh.n;
            g.w_const = pdl;
            g.packed = packed;
            g.rows_per_task = rows_per_task;
            ok = ok && cuda::launch_gemv_group(ls, g).is_ok();
          };
          CHECK(cudaMemsetAsync(y, 0xff, size_t(m * sh.n) * 4, s));
          call(0);
          CHECK(cudaStreamSynchronize(s));
          const double err = error();
          const Timing t = time_calls(s, t0, t1, reps, call);
          if (!ok) {
            std::fprintf(stderr, "%s %s: launch failed\n", name, key.c_str());
            return 1;
          }
          row(name, "group", t, err);
          return 0;
        };
        if (run_group("group", w, false, 1)) return 1;
        if (!packed_w.empty() && (run_group("group-packed", packed_w, true, 1) ||
                                  run_group("group-packed-r4", packed_w, true, 4)))
          return 1;
        // The streamed GEMV (gemv_stream.h) on the GEMV layout, its ring at
        // the default size and at a few stage counts (named by the count
        // launched); its outputs must equal the grouped kernel's (a row a
        // task) bit for bit, or the bench fails.
        if (!packed_w.empty() && cuda::gemv_stream_fits(dt, m, sh.n, sh.k, packed_w[0], xq)) {
          std::vector<float> group_y(size_t(sh.n)), stream_y(size_t(sh.n));
          std::vector<int> timed;  // stage counts as launched (asked for more, a ring gets what fits)
          std::vector<int> stage_list = {0};
          stage_list.insert(stage_list.end(), stream_stages.begin(), stream_stages.end());
          for (int stages : stage_list) {
            const int ring = cuda::gemv_stream_stages(dt, sh.k, stages);
            if (stages > 0 && std::find(timed.begin(), timed.end(), ring) != timed.end()) continue;
            timed.push_back(ring);
            bool ok = true;
            auto call = [&](int i) {
              const cuda::LaunchStream ls{s, pdl};
              if (quantize_each) ok = ok && cuda::launch_quantize_x(ls, x, m * sh.k, xq).is_ok();
              cuda::GemvStreamArgs a{dt, sh.n, sh.k, packed_w[size_t(i % n_copies)], xq, y, pdl, stages};
              ok = ok && cuda::launch_gemv_stream(ls, a).is_ok();
            };
            if (stages == 0) {  // the grouped kernel's bits, on copy 0
              cuda::GemvGroupArgs g{};
              g.dtype = dt, g.m = 1, g.k = sh.k, g.x = x, g.xq = xq, g.n_parts = 1;
              g.w[0] = packed_w[0], g.y[0] = y, g.n[0] = sh.n, g.packed = true;
              ok = cuda::launch_quantize_x({s, false}, x, sh.k, xq).is_ok() &&
                   cuda::launch_gemv_group({s, false}, g).is_ok();
              CHECK(cudaMemcpy(group_y.data(), y, group_y.size() * 4, cudaMemcpyDeviceToHost));
            }
            CHECK(cudaMemsetAsync(y, 0xff, size_t(sh.n) * 4, s));
            call(0);
            CHECK(cudaStreamSynchronize(s));
            const double err = error();
            CHECK(cudaMemcpy(stream_y.data(), y, stream_y.size() * 4, cudaMemcpyDeviceToHost));
            const int64_t differ = int64_t(std::mismatch(group_y.begin(), group_y.end(), stream_y.begin(),
                                                         [](float a, float b) { return std::memcmp(&a, &b, 4) == 0; })
                                               .first -
                                           group_y.begin());
            const Timing t = time_calls(s, t0, t1, reps, call);
            if (!ok) {
              std::fprintf(stderr, "stream %s: launch failed\n", key.c_str());
              return 1;
            }
            const std::string name = "stream-s" + std::to_string(ring) + (stages == 0 ? " (default)" : "");
            row(name.c_str(), "stream", t, err);
            if (differ != sh.n) {
              std::fprintf(stderr, "%s %s: output %lld differs in bits from the grouped kernel's\n", name.c_str(),
                           key.c_str(), (long long)differ);
              return 1;
            }
          }
        }
        if (blas != nullptr && dt == samepage::DType_bf16) {
          CHECK(cudaMalloc(reinterpret_cast<void**>(&xb), xh.size() * 2));
          std::vector<__nv_bfloat16> xbh(xh.size());
          for (size_t i = 0; i < xh.size(); ++i) xbh[i] = __float2bfloat16(xh[i]);
          CHECK(cudaMemcpy(xb, xbh.data(), xbh.size() * 2, cudaMemcpyHostToDevice));
          const float alpha = 1.0f, beta = 0.0f;
          auto call = [&](int i) {
            CHECK_BLAS(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, int(sh.n), int(m), int(sh.k), &alpha,
                                    w[size_t(i % n_copies)], CUDA_R_16BF, int(sh.k), xb, CUDA_R_16BF, int(sh.k), &beta,
                                    y, CUDA_R_32F, int(sh.n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
          };
          call(0);
          CHECK(cudaStreamSynchronize(s));
          const double err = error();
          row("cublas", "GemmEx", time_calls(s, t0, t1, reps, call), err);
          CHECK(cudaFree(xb));
        }
        CHECK(cudaFree(x));
        CHECK(cudaFree(y));
        CHECK(cudaFree(qs));
        CHECK(cudaFree(xd));
      }
      CHECK(cudaStreamSynchronize(s));
      CHECK(cudaFree(w_all));
      if (packed_all != nullptr) CHECK(cudaFree(packed_all));
    }
  }
  std::printf("\nFastest by graph time:\n\n| case | variant | µs |\n|---|---|---|\n");
  for (const std::string& key : order)
    std::printf("| %s | %s | %.2f |\n", key.c_str(), best[key].name.c_str(), best[key].us);
  if (blas != nullptr) {
    CHECK_BLAS(cublasDestroy(blas));
    CHECK(cudaFree(blas_ws));
  }
  return 0;
}
