// A guest that fails on purpose, one way per argument, for the trap tests:
//   traps oob | div0 | overflow | unreachable | stack | null_call | bad_signature
//        | exit N | grow | spin | ok
// Every failure must end only this guest; the host reports it and goes on.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int g_zero = 0;
static volatile int g_minus_one = -1;

// Recursion through a volatile pointer: a call_indirect per frame that no
// compiler can turn into a loop, and no locals in linear memory, so the
// native stack is what runs out.
static int recurse(int n);
static int (*volatile g_recurse)(int) = recurse;
static int recurse(int n) { return g_recurse(n + 1) + n; }

static void takes_nothing(void) {}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: traps oob|div0|overflow|unreachable|stack|null_call|bad_signature|exit N|grow|spin|ok\n");
    return 2;
  }
  const char* what = argv[1];
  if (strcmp(what, "oob") == 0) {
    volatile int* far = (volatile int*)(uintptr_t)0xfffffff0u;  // past any memory this guest has
    *far = 1;
  } else if (strcmp(what, "div0") == 0) {
    volatile int numerator = 7;  // not 1: 1/x compiles to a select, with no division
    printf("%d\n", numerator / g_zero);
  } else if (strcmp(what, "overflow") == 0) {
    volatile int min = INT_MIN;
    printf("%d\n", min / g_minus_one);
  } else if (strcmp(what, "unreachable") == 0) {
    __builtin_trap();
  } else if (strcmp(what, "stack") == 0) {
    printf("%d\n", recurse(0));
  } else if (strcmp(what, "null_call") == 0) {
    void (*volatile fn)(void) = 0;
    fn();
  } else if (strcmp(what, "bad_signature") == 0) {
    int (*volatile wrong)(int, int) = (int (*)(int, int))(void*)takes_nothing;
    printf("%d\n", wrong(1, 2));
  } else if (strcmp(what, "exit") == 0) {
    exit(argc > 2 ? atoi(argv[2]) : 0);
  } else if (strcmp(what, "grow") == 0) {
    // Grows memory by 64 MiB through malloc and touches every page.
    size_t n = 64u << 20;
    unsigned char* p = malloc(n);
    if (p == NULL) return 3;
    for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)i;
    printf("grew ok\n");
    return 0;
  } else if (strcmp(what, "spin") == 0) {
    // Runs until the host interrupts it (run --timeout).
    for (volatile unsigned i = 0;; i = i + 1) {
    }
  } else if (strcmp(what, "ok") == 0) {
    printf("ok\n");
    return 0;
  } else {
    fprintf(stderr, "traps: unknown case %s\n", what);
    return 2;
  }
  fprintf(stderr, "traps: case %s did not trap\n", what);
  return 4;
}
