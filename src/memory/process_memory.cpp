#include <cerrno>
#include <cstdio>
#include <cstring>

#include "samepage/linear_memory.h"

namespace samepage {

ProcessMemory read_process_memory() {
  ProcessMemory out;
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) {
    out.error = std::string("cannot read /proc/self/status: ") + std::strerror(errno);
    return out;
  }
  out.read = true;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long kib = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kib) == 1) out.rss_bytes = kib * 1024;
    else if (std::sscanf(line, "RssAnon: %llu kB", &kib) == 1) out.rss_anon_bytes = kib * 1024;
    else if (std::sscanf(line, "RssFile: %llu kB", &kib) == 1) out.rss_file_bytes = kib * 1024;
    else if (std::sscanf(line, "RssShmem: %llu kB", &kib) == 1) out.rss_shmem_bytes = kib * 1024;
  }
  std::fclose(f);
  return out;
}

}  // namespace samepage
