// Maps a file the guest opened through WASI into its own memory, with no
// copy, and checks it: sp_map_file end to end.
//   map_file PATH N_BYTES          prints "sum=<hex> rss_anon_delta=<bytes>" and "map_file ok"
//   map_file PATH N_BYTES write    writes into the mapping: must trap
//   map_file PATH N_BYTES shrink-guest  truncates the mapped file, then reads it: must trap
//   map_file PATH N_BYTES shrink-host   truncates it, then has a host op read it: must trap
//                                       (the host survives; needs a writable preopen)
// The fd comes from a preopen, so only files the host granted can be mapped;
// an fd the guest does not hold (or stdin, not a file) is refused.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samepage.h"

static int fail(const char* what, int32_t status) {
  char message[256];
  sp_last_error(message, sizeof message);
  printf("%s failed (%d): %s\n", what, status, message);
  return 1;
}

// A file the guest maps and can also truncate (through a --dir-rw preopen):
// the pages past its new end are gone, and reading them must end only this guest.
static int shrink_under_mapping(const char* path, uint32_t n_bytes, int by_host) {
  const int fd = open(path, O_RDWR);
  if (fd < 0) {
    perror(path);
    return 1;
  }
  float* p = (float*)sp_alloc_pages(n_bytes);
  if (p == NULL) return fail("sp_alloc_pages", SP_ERR_NO_MEMORY);
  int32_t rc = sp_map_file(fd, 0, n_bytes, p);
  if (rc != SP_OK) return fail("map_file", rc);
  if (ftruncate(fd, 0) != 0) {
    perror("ftruncate");
    return 1;
  }
  if (!by_host) {
    printf("read %f\n", (double)p[n_bytes / 8]);  // traps
    return 1;
  }
  const uint32_t shape[1] = {n_bytes / 4};
  const sp_tensor x = sp_tensor_view(p, SP_F32, 1, shape, 0);
  const sp_tensor out = sp_tensor_alloc(SP_F32, 1, shape, 0);
  if (x < 0 || out < 0) return fail("tensors", x < 0 ? x : out);
  rc = sp_scale(out, x, 2.0f);  // the host kernel reads the lost pages: the guest ends here
  printf("host op returned %d: did not trap\n", rc);
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const uint32_t n_bytes = (uint32_t)strtoul(argv[2], NULL, 10);
  if (argc > 3 && strncmp(argv[3], "shrink-", 7) == 0)
    return shrink_under_mapping(argv[1], n_bytes, strcmp(argv[3], "shrink-host") == 0);
  const int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  sp_stats before, after;
  if (sp_stats_get(&before) != SP_OK) return fail("stats", -1);
  volatile uint8_t* p = (volatile uint8_t*)sp_alloc_pages(n_bytes);
  if (p == NULL) return fail("sp_alloc_pages", SP_ERR_NO_MEMORY);
  int32_t rc = sp_map_file(fd, 0, n_bytes, (void*)p);
  if (rc != SP_OK) return fail("map_file", rc);

  // Fold the bytes 8 at a time (the host computes the same sum).
  uint64_t sum = 0;
  for (uint32_t i = 0; i + 8 <= n_bytes; i += 8) {
    uint64_t word;
    memcpy(&word, (const void*)(p + i), 8);
    sum = sum * 31 + word;
  }
  if (sp_stats_get(&after) != SP_OK) return fail("stats", -1);
  printf("sum=%016llx rss_anon_delta=%lld\n", (unsigned long long)sum,
         (long long)after.rss_anon_bytes - (long long)before.rss_anon_bytes);

  // Refused: an fd the guest never opened, stdin (not a regular file),
  // an unaligned address, and mapping over the mapping.
  const int bad_fd = sp_map_file(999, 0, 4096, (void*)p) != SP_OK;
  const int bad_stdin = sp_map_file(0, 0, 4096, (void*)p) != SP_OK;
  const int bad_align = sp_map_file(fd, 0, 4096, (void*)(p + 1)) != SP_OK;
  const int bad_over = sp_map_file(fd, 0, 4096, (void*)p) != SP_OK;
  printf("refused: bad fd %d, stdin %d, unaligned %d, over a mapping %d\n", bad_fd, bad_stdin, bad_align, bad_over);

  if (argc > 3 && strcmp(argv[3], "write") == 0) {
    p[0] = 1;  // read-only file pages: this traps
    printf("write did not trap\n");
    return 1;
  }
  rc = sp_unmap_file((void*)p, n_bytes);
  if (rc != SP_OK) return fail("unmap_file", rc);
  p[0] = 7;  // zeroed, writable pages again
  const int unmapped = p[0] == 7 && p[1] == 0;
  close(fd);
  if (bad_fd && bad_stdin && bad_align && bad_over && unmapped) {
    printf("map_file ok\n");
    return 0;
  }
  return 1;
}
