// WASI clocks, sleeping and randomness through wasi-libc: clock_gettime on
// every clock, clock_getres, nanosleep and clock_nanosleep (relative and
// absolute), time(), getentropy.
// Prints "PASS clocks_random" and returns 0 only when every check held.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int64_t now_ns(clockid_t clock) {
  struct timespec ts;
  if (clock_gettime(clock, &ts) != 0) return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static volatile uint64_t sink;

int main(void) {
  // Realtime: after 2020-01-01 and agreeing with time().
  const int64_t real = now_ns(CLOCK_REALTIME);
  CHECK(real > (int64_t)1577836800 * 1000000000);
  const time_t t = time(NULL);
  CHECK(t >= real / 1000000000 - 2 && t <= real / 1000000000 + 2);

  // Monotonic never goes back and advances across a sleep.
  int64_t prev = now_ns(CLOCK_MONOTONIC);
  CHECK(prev > 0);
  for (int i = 0; i < 1000; ++i) {
    const int64_t cur = now_ns(CLOCK_MONOTONIC);
    CHECK(cur >= prev);
    prev = cur;
  }
  const struct timespec ten_ms = {0, 10 * 1000 * 1000};
  const int64_t before = now_ns(CLOCK_MONOTONIC);
  CHECK(nanosleep(&ten_ms, NULL) == 0);
  const int64_t slept = now_ns(CLOCK_MONOTONIC) - before;
  CHECK(slept >= 10 * 1000 * 1000);
  CHECK(slept < 5LL * 1000 * 1000 * 1000);

  // clock_nanosleep: relative, then absolute on the monotonic clock.
  const int64_t rel_start = now_ns(CLOCK_MONOTONIC);
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &ten_ms, NULL) == 0);
  CHECK(now_ns(CLOCK_MONOTONIC) - rel_start >= 10 * 1000 * 1000);
  const int64_t deadline = now_ns(CLOCK_MONOTONIC) + 15 * 1000 * 1000;
  const struct timespec abs = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0);
  CHECK(now_ns(CLOCK_MONOTONIC) >= deadline);
  CHECK(usleep(1000) == 0);

  // CPU-time clocks advance while the guest computes.
  const int64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  CHECK(cpu0 >= 0);
  for (uint64_t i = 0; i < 20 * 1000 * 1000; ++i) sink += i * i;
  const int64_t cpu1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  CHECK(cpu1 > cpu0);
  CHECK(now_ns(CLOCK_THREAD_CPUTIME_ID) > 0);

  // Resolutions are positive and at most a millisecond on Linux.
  const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                              CLOCK_THREAD_CPUTIME_ID};
  for (unsigned i = 0; i < sizeof(clocks) / sizeof(clocks[0]); ++i) {
    struct timespec res = {0, 0};
    CHECK(clock_getres(clocks[i], &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
  }

  // getentropy fills its buffer with bytes that differ between calls.
  unsigned char a[256], b[256];
  memset(a, 0, sizeof(a));
  memset(b, 0, sizeof(b));
  CHECK(getentropy(a, sizeof(a)) == 0);
  CHECK(getentropy(b, sizeof(b)) == 0);
  CHECK(memcmp(a, b, sizeof(a)) != 0);
  int seen[256] = {0}, distinct = 0;
  for (unsigned i = 0; i < sizeof(a); ++i) {
    if (!seen[a[i]]++) distinct++;
  }
  CHECK(distinct > 64);  // 256 random bytes have about 160 distinct values

  if (failures != 0) {
    printf("FAILED clocks_random: %d checks\n", failures);
    return 1;
  }
  printf("PASS clocks_random\n");
  return 0;
}
