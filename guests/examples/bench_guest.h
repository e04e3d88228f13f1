/* What the benchmark guests share: a monotonic clock, a comparison for
 * qsort'ing timings into medians, and a status check that prints the host's
 * message and ends the guest. */
#ifndef SAMEPAGE_BENCH_GUEST_H_
#define SAMEPAGE_BENCH_GUEST_H_

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "samepage.h"

static inline double bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline double bench_now_ms(void) { return bench_now_ns() / 1e6; }

static inline int bench_cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static inline int32_t bench_check(int32_t status, const char* what) {
  if (status >= 0) return status;
  char message[256];
  sp_last_error(message, sizeof message);
  fprintf(stderr, "%s failed (%d): %s\n", what, status, message);
  exit(1);
}

#endif /* SAMEPAGE_BENCH_GUEST_H_ */
