// Reads a file through WASI and prints its size and a checksum:
//   file_reader /GUEST/PATH
// The host grants access with `samepage run --dir HOST::GUEST`.
#include <stdint.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: file_reader PATH\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (f == NULL) {
    perror(argv[1]);
    return 1;
  }
  // FNV-1a over the whole file: enough to show the guest read the same bytes.
  uint64_t hash = 1469598103934665603ull, n_bytes = 0;
  static unsigned char buf[65536];  // static: the default shadow stack is only 64 KiB
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < n; ++i) hash = (hash ^ buf[i]) * 1099511628211ull;
    n_bytes += n;
  }
  fclose(f);
  printf("%s: %llu bytes, fnv1a %016llx\n", argv[1], (unsigned long long)n_bytes,
         (unsigned long long)hash);
  return 0;
}
