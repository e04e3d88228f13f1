// A CPU-bound guest for measuring what interruption costs (bench/RESULTS.md):
//   cpu_loop compute N   N rounds of a 64x64 integer matrix product, guest code only
//   cpu_loop imports N   N calls of a host import that does almost nothing
//                        (fd_fdstat_get on a closed fd: one table lookup, EBADF)
// Prints the elapsed time and a checksum (so nothing is optimized away).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wasi/api.h>

enum { kN = 64 };
static uint32_t g_a[kN * kN], g_b[kN * kN], g_c[kN * kN];

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t compute(long rounds) {
  for (int i = 0; i < kN * kN; ++i) {
    g_a[i] = (uint32_t)i * 2654435761u;
    g_b[i] = (uint32_t)i ^ 0x5bd1e995u;
  }
  uint32_t sum = 0;
  for (long r = 0; r < rounds; ++r) {
    for (int i = 0; i < kN; ++i)
      for (int j = 0; j < kN; ++j) {
        uint32_t acc = 0;
        for (int k = 0; k < kN; ++k) acc += g_a[i * kN + k] * g_b[k * kN + j];
        g_c[i * kN + j] = acc;
      }
    sum += g_c[r % (kN * kN)];
    g_a[r % (kN * kN)] ^= sum;  // each round depends on the last
  }
  return sum;
}

static uint32_t imports(long calls) {
  uint32_t sum = 0;
  __wasi_fdstat_t stat;
  for (long i = 0; i < calls; ++i) sum += __wasi_fd_fdstat_get(1000, &stat);
  return sum;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: cpu_loop compute|imports N\n");
    return 2;
  }
  const long n = atol(argv[2]);
  const double t0 = now_ms();
  uint32_t sum;
  if (strcmp(argv[1], "compute") == 0) {
    sum = compute(n);
  } else if (strcmp(argv[1], "imports") == 0) {
    sum = imports(n);
  } else {
    fprintf(stderr, "cpu_loop: unknown mode %s\n", argv[1]);
    return 2;
  }
  const double ms = now_ms() - t0;
  printf("{\"mode\": \"%s\", \"n\": %ld, \"ms\": %.2f, \"ns_per_item\": %.2f, \"checksum\": %u}\n", argv[1], n, ms,
         ms * 1e6 / (double)n, sum);
  return 0;
}
