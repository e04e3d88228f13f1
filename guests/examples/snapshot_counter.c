// A reactor guest whose state lives in every place a snapshot must carry:
// linear memory (a counter, a heap buffer), the stack pointer (a mutable
// global), the function table (an operation chosen through a function
// pointer), a runtime tensor (an accumulator only the host holds, and a
// reshaped alias of it), a const
// view of a file mapped from the preopen /data, and a recorded sequence.
//   setup()  opens /data/blob.bin (at least 4 KiB), maps its first 4 KiB,
//            makes the tensors and records the sequence; 0 or an SP_ERR_*
//   step()   one step: counter += 1, acc += mapped floats (replayed; recorded
//            again if a restore brought the sequence back dropped), the
//            operation applied; returns a checksum of everything
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samepage.h"

enum { kFloats = 1024 };  // one 4 KiB page of the file

static int32_t g_counter;
static float* g_mapped;    // kFloats, file-mapped, const view
static float* g_readback;  // kFloats, heap: acc copied back for the checksum
static sp_tensor g_acc, g_mapped_view, g_readback_view;
static sp_tensor g_acc_square;  // g_acc reshaped to 32 x 32: the same bytes under another handle
static sp_sequence g_step;
static int32_t g_rerecorded;  // recordings made again after a restore

static int32_t twice(int32_t x) { return 2 * x; }
static int32_t plus_seven(int32_t x) { return x + 7; }
static int32_t (*const g_ops[2])(int32_t) = {twice, plus_seven};
static int32_t (*g_op)(int32_t) = twice;  // in memory; its value is a table index

static int32_t record(void) {
  int32_t rc = sp_record_begin();
  if (rc != SP_OK) return rc;
  rc = sp_add(g_acc, g_acc, g_mapped_view);
  if (rc != SP_OK) return rc;
  rc = sp_copy(g_readback_view, g_acc_square);  // through the alias: a restore must keep them one tensor
  if (rc != SP_OK) return rc;
  g_step = sp_record_end();
  return g_step < 0 ? g_step : SP_OK;
}

__attribute__((export_name("setup"))) int32_t setup(void) {
  const int fd = open("/data/blob.bin", O_RDONLY);
  if (fd < 0) return SP_ERR_ARG;
  g_mapped = (float*)sp_alloc_pages(kFloats * 4);
  if (g_mapped == NULL) return SP_ERR_NO_MEMORY;
  int32_t rc = sp_map_file(fd, 0, kFloats * 4, g_mapped);
  close(fd);  // the mapping stays; the fd is not needed (nor kept by a snapshot)
  if (rc != SP_OK) return rc;
  g_readback = (float*)malloc(kFloats * sizeof(float));
  const uint32_t shape[1] = {kFloats};
  g_acc = sp_tensor_alloc(SP_F32, 1, shape, 0);
  g_mapped_view = sp_tensor_view(g_mapped, SP_F32, 1, shape, SP_CONST);
  const uint32_t square[2] = {32, 32};
  g_readback_view = sp_tensor_view(g_readback, SP_F32, 2, square, 0);
  g_acc_square = sp_tensor_reshape(g_acc, 2, square);
  if (g_acc < 0 || g_mapped_view < 0 || g_readback_view < 0 || g_acc_square < 0) return SP_ERR_STATE;
  return record();
}

__attribute__((export_name("step"))) int32_t step(void) {
  ++g_counter;
  int32_t rc = sp_replay(g_step, NULL, 0);
  if (rc == SP_ERR_STATE) {  // recorded before a restore: record again
    ++g_rerecorded;
    rc = record();
    if (rc == SP_OK) rc = sp_replay(g_step, NULL, 0);
  }
  if (rc != SP_OK) return rc;
  g_op = g_ops[g_counter % 2];
  uint32_t sum = (uint32_t)g_op(g_counter);
  for (int i = 0; i < kFloats; ++i) {
    uint32_t bits;
    memcpy(&bits, &g_readback[i], 4);
    sum = (sum ^ bits) * 0x9e3779b1u;
    sum ^= sum >> 15;  // high bits reach the low ones: scaled floats differ
  }
  return (int32_t)(sum & 0x7fffffff);
}

__attribute__((export_name("counter"))) int32_t counter(void) { return g_counter; }
__attribute__((export_name("rerecorded"))) int32_t rerecorded(void) { return g_rerecorded; }
// Grows memory by n pages and fills them half with zeros, half with a
// pattern: the benchmark's guest state (bench/snapshot.sh).
__attribute__((export_name("fill"))) int32_t fill(int32_t n_pages) {
  const int32_t old = __builtin_wasm_memory_grow(0, n_pages);
  if (old < 0) return -1;
  uint8_t* p = (uint8_t*)(uintptr_t)((uint32_t)old * 65536u);
  for (int32_t page = 0; page < n_pages; page += 2) memset(p + (size_t)page * 65536, 0x5a + page, 65536);
  return old;
}
// The bits of readback element i (the accumulator as of the last step).
__attribute__((export_name("probe"))) int32_t probe(int32_t i) {
  int32_t bits;
  memcpy(&bits, &g_readback[i & (kFloats - 1)], 4);
  return bits;
}
// An fd beyond the preopens, kept open: a snapshot does not carry it.
__attribute__((export_name("open_keep"))) int32_t open_keep(void) { return open("/data/blob.bin", O_RDONLY); }
// Reads one byte from fd: 1, or -errno.
__attribute__((export_name("read_fd"))) int32_t read_fd(int32_t fd) {
  char c;
  const ssize_t n = read(fd, &c, 1);
  return n < 0 ? -errno : (int32_t)n;
}
// A recording left open across calls (a snapshot refuses it), and closed.
__attribute__((export_name("record_open"))) int32_t record_open(void) { return sp_record_begin(); }
__attribute__((export_name("record_close"))) int32_t record_close(void) { return sp_record_end(); }
