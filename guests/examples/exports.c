// A reactor guest (built with -mexec-model=reactor: no main, `_initialize`) with plain exports, for calling functions directly
// and for several instances of one module in one process.
#include <stdint.h>
#include <stdlib.h>

static int32_t g_counter = 0;

__attribute__((export_name("add"))) int32_t add(int32_t a, int32_t b) { return a + b; }
__attribute__((export_name("mul64"))) int64_t mul64(int64_t a, int64_t b) { return a * b; }
__attribute__((export_name("bump"))) int32_t bump(void) { return ++g_counter; }
// Grows memory by n_pages and returns the previous size in pages (or -1).
__attribute__((export_name("grow"))) int32_t grow(int32_t n_pages) {
  return __builtin_wasm_memory_grow(0, n_pages);
}
__attribute__((export_name("pages"))) int32_t pages(void) { return __builtin_wasm_memory_size(0); }
// Stores v at a guest address and reads it back: the test reads it through the host pointer.
__attribute__((export_name("poke"))) int32_t poke(int32_t addr, int32_t v) {
  *(volatile int32_t*)(uintptr_t)addr = v;
  return *(volatile int32_t*)(uintptr_t)addr;
}
__attribute__((export_name("peek"))) int32_t peek(int32_t addr) { return *(volatile int32_t*)(uintptr_t)addr; }
__attribute__((export_name("boom"))) int32_t boom(void) { __builtin_trap(); }
