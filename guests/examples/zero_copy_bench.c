// The zero-copy proof, as a guest: fill matrices in this guest's own memory,
// multiply them through the host API, check every element against a float64
// reference computed here, and report what the host did with the bytes.
//   zero_copy_bench SIZE_MB REPEATS
// Prints one JSON object on stdout.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_guest.h"

enum { kRows = 8 };  // activation rows: a small batch, so the weights dominate the bytes

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static float next_uniform(void) {  // xorshift64*, in [-1, 1)
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return (float)((double)((g_rng * 2685821657736338717ull) >> 11) / 4503599627370496.0 - 1.0);
}

int main(int argc, char** argv) {
  const double size_mb = argc > 1 ? atof(argv[1]) : 16;
  const int repeats = argc > 2 ? atoi(argv[2]) : 10;
  // Square f32 weight matrix of size_mb MiB, dim a multiple of 32.
  uint32_t dim = (uint32_t)sqrt(size_mb * 1048576.0 / 4.0) / 32 * 32;
  if (dim < 32) dim = 32;
  const size_t w_bytes = (size_t)dim * dim * 4;

  float* w = aligned_alloc(65536, w_bytes);
  float* x = aligned_alloc(64, (size_t)kRows * dim * 4);
  float* out = aligned_alloc(64, (size_t)kRows * dim * 4);
  if (!w || !x || !out) {
    fprintf(stderr, "out of guest memory\n");
    return 1;
  }
  for (size_t i = 0; i < (size_t)dim * dim; ++i) w[i] = next_uniform();
  for (size_t i = 0; i < (size_t)kRows * dim; ++i) x[i] = next_uniform();
  for (size_t i = 0; i < (size_t)kRows * dim; ++i) out[i] = NAN;  // poison: every element must be written

  const uint32_t w_shape[2] = {dim, dim}, x_shape[2] = {kRows, dim};
  sp_tensor tw = bench_check(sp_tensor_view(w, SP_F32, 2, w_shape, SP_CONST), "view w");
  sp_tensor tx = bench_check(sp_tensor_view(x, SP_F32, 2, x_shape, SP_SHARED), "view x");
  sp_tensor tout = bench_check(sp_tensor_view(out, SP_F32, 2, x_shape, SP_SHARED), "view out");

  sp_stats before, after;
  bench_check(sp_stats_get(&before), "stats");
  bench_check(sp_matmul(tout, tx, tw), "matmul");
  bench_check(sp_stats_get(&after), "stats");

  double* times = malloc(sizeof(double) * (repeats > 0 ? repeats : 1));
  for (int r = 0; r < repeats; ++r) {
    const double t0 = bench_now_ms();
    bench_check(sp_matmul(tout, tx, tw), "matmul");
    times[r] = bench_now_ms() - t0;
  }
  qsort(times, repeats, sizeof(double), bench_cmp_double);
  const double median_ms = repeats > 0 ? times[repeats / 2] : 0;

  sp_tensor_info wi, oi;
  bench_check(sp_tensor_info_get(tw, &wi), "info w");
  bench_check(sp_tensor_info_get(tout, &oi), "info out");

  // float64 reference for every output element; tolerance scales with sum |x·w|.
  long errors = 0;
  double max_rel = 0;
  for (int m = 0; m < kRows; ++m) {
    for (uint32_t n = 0; n < dim; ++n) {
      double ref = 0, mag = 0;
      const float* wr = w + (size_t)n * dim;
      const float* xr = x + (size_t)m * dim;
      for (uint32_t k = 0; k < dim; ++k) {
        ref += (double)xr[k] * wr[k];
        mag += fabs((double)xr[k] * wr[k]);
      }
      const double got = out[(size_t)m * dim + n];
      const double rel = fabs(got - ref) / (mag + 1e-30);
      if (!(rel <= 1e-5)) ++errors;  // NaN (unwritten) counts as an error
      if (rel > max_rel) max_rel = rel;
    }
  }
  const double gbps = median_ms > 0 ? (double)w_bytes / (median_ms * 1e6) : 0;
  printf("{\"size_mb\": %.2f, \"dim\": %u, \"rows\": %d, \"copy_mode\": %d, "
         "\"pointer_identity\": %s, \"rss_delta_bytes\": %lld, \"rss_anon_delta_bytes\": %lld, "
         "\"staged_bytes\": %llu, \"median_ms\": %.4f, \"weight_gbps\": %.2f, \"repeats\": %d, "
         "\"element_errors\": %ld, \"n_checked\": %d, \"max_rel_error\": %.3g}\n",
         (double)w_bytes / 1048576.0, dim, kRows, after.copy_mode,
         (wi.zero_copy && oi.zero_copy) ? "true" : "false",
         (long long)after.rss_bytes - (long long)before.rss_bytes,
         (long long)after.rss_anon_bytes - (long long)before.rss_anon_bytes,
         (unsigned long long)after.staged_bytes, median_ms, gbps, repeats, errors, kRows * (int)dim, max_rel);
  sp_tensor_free(tw);
  sp_tensor_free(tx);
  sp_tensor_free(tout);
  return errors == 0 ? 0 : 1;
}
