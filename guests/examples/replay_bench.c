// Replay cost, as a guest: record a sequence of small ops once, replay it
// many times with a new position parameter, and report nanoseconds per
// replayed op against the same ops called eagerly. Small tensors, so the
// numbers are the API's overhead (validation, dispatch), not the kernels.
//   replay_bench [N_OPS] [REPEATS]
// Prints one JSON object on stdout.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_guest.h"

enum { kDim = 64, kHeads = 2, kHeadDim = 32 };

static float g_a[kDim], g_b[kDim], g_c[kDim];

// One op of the mix: add, scale, silu_mul and rope (rope takes the position).
static int32_t issue(int i, sp_tensor a, sp_tensor b, sp_tensor c, sp_tensor rope_in, sp_tensor rope_out,
                     int32_t pos) {
  switch (i % 4) {
    case 0: return sp_add(c, a, b);
    case 1: return sp_scale(c, a, 0.5f);
    case 2: return sp_silu_mul(c, a, b);
    default: return sp_rope(rope_out, rope_in, pos, 10000.0f, 1.0f, SP_ROPE_NORMAL);
  }
}

int main(int argc, char** argv) {
  const int n_ops = argc > 1 ? atoi(argv[1]) : 300;
  const int repeats = argc > 2 ? atoi(argv[2]) : 2000;
  if (n_ops <= 0 || repeats <= 0) return 2;
  for (int i = 0; i < kDim; ++i) g_a[i] = 0.01f * i, g_b[i] = 1.0f - 0.01f * i;

  const uint32_t flat[1] = {kDim}, heads[3] = {1, kHeads, kHeadDim};
  sp_tensor a = bench_check(sp_tensor_view(g_a, SP_F32, 1, flat, SP_SHARED), "view a");
  sp_tensor b = bench_check(sp_tensor_view(g_b, SP_F32, 1, flat, SP_SHARED), "view b");
  sp_tensor c = bench_check(sp_tensor_view(g_c, SP_F32, 1, flat, SP_SHARED), "view c");
  sp_tensor rope_in = bench_check(sp_tensor_view(g_a, SP_F32, 3, heads, SP_SHARED), "view rope in");
  sp_tensor rope_out = bench_check(sp_tensor_view(g_c, SP_F32, 3, heads, SP_SHARED), "view rope out");

  bench_check(sp_record_begin(), "record_begin");
  for (int i = 0; i < n_ops; ++i) bench_check(issue(i, a, b, c, rope_in, rope_out, SP_PARAM(0)), "record op");
  const int32_t seq = bench_check(sp_record_end(), "record_end");

  double* replay_ns = malloc(sizeof(double) * repeats);
  double* eager_ns = malloc(sizeof(double) * repeats);
  for (int r = 0; r < repeats; ++r) {
    const int32_t pos = r % 1024;
    double t0 = bench_now_ns();
    bench_check(sp_replay(seq, &pos, 1), "replay");
    replay_ns[r] = (bench_now_ns() - t0) / n_ops;
    t0 = bench_now_ns();
    for (int i = 0; i < n_ops; ++i) bench_check(issue(i, a, b, c, rope_in, rope_out, pos), "eager op");
    eager_ns[r] = (bench_now_ns() - t0) / n_ops;
  }
  bench_check(sp_sequence_free(seq), "sequence_free");
  qsort(replay_ns, repeats, sizeof(double), bench_cmp_double);
  qsort(eager_ns, repeats, sizeof(double), bench_cmp_double);
  printf("{\"n_ops\": %d, \"repeats\": %d, \"replay_ns_per_op\": %.1f, \"eager_ns_per_op\": %.1f, "
         "\"replay_ns_per_op_p90\": %.1f, \"eager_ns_per_op_p90\": %.1f}\n",
         n_ops, repeats, replay_ns[repeats / 2], eager_ns[repeats / 2], replay_ns[repeats * 9 / 10],
         eager_ns[repeats * 9 / 10]);
  return 0;
}
