// What the WASI test guests share: CHECK, which reports a failed condition
// with errno and counts it (one run shows every failure), and sandbox paths.
#ifndef SAMEPAGE_WASI_TESTS_CHECK_H_
#define SAMEPAGE_WASI_TESTS_CHECK_H_

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      printf("FAIL %s:%d: %s (errno %d: %s)\n", __FILE__, __LINE__, #cond, errno, \
             strerror(errno));                                                       \
      failures++;                                                                    \
    }                                                                                \
  } while (0)

// The test's working directory under the sandbox, and paths inside it.
static char dir[256] __attribute__((unused));
// Rotating buffers: a call may take two at() paths.
static inline const char* at(const char* name) {
  static char path[4][512];
  static int next = 0;
  char* p = path[next++ % 4];
  snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
  return p;
}

#endif
