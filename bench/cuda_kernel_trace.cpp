// A kernel timeline for any CUDA process, graph nodes included, without
// Nsight Systems (the device machine has none): a CUPTI injection library.
// The CUDA driver loads it at context creation when
//
//   CUDA_INJECTION64_PATH=/path/libcuda_kernel_trace.so SAMEPAGE_TRACE_OUT=trace.tsv  PROGRAM ...
//
// and calls InitializeInjection(); it records every kernel's start and end
// (GPU timestamps, ns), and every memcpy's (named memcpy:BYTES, grid 0: a
// captured graph's parameter upload shows as its first node), and at exit
// writes one line each, in start order:
//   start_ns <TAB> end_ns <TAB> graph_id <TAB> grid_x <TAB> name
// bench/cuda_decode_timeline.sh reads it back as a decode step's critical
// path. CUPTI's concurrent-kernel records keep the overlap that programmatic
// dependent launch gives (a kernel may start before its predecessor ends).
#include <cupti.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct Kernel {
  uint64_t start, end;
  uint32_t graph_id;
  int32_t grid_x;
  std::string name;
};

std::mutex g_mutex;
std::vector<Kernel>* g_kernels = nullptr;  // leaked on purpose: read at exit, after static destructors may run
constexpr size_t kBufferBytes = size_t(8) << 20;

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = kBufferBytes;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid_bytes) {
  CUpti_Activity* record = nullptr;
  std::lock_guard<std::mutex> lock(g_mutex);
  while (cuptiActivityGetNextRecord(buffer, valid_bytes, &record) == CUPTI_SUCCESS) {
    if (record->kind == CUPTI_ACTIVITY_KIND_MEMCPY) {  // named "memcpy:<bytes>", grid 0
      const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(record);
      g_kernels->push_back({m->start, m->end, m->graphId, 0, "memcpy:" + std::to_string(m->bytes)});
      continue;
    }
    if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL && record->kind != CUPTI_ACTIVITY_KIND_KERNEL) continue;
    const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
    g_kernels->push_back({k->start, k->end, k->graphId, k->gridX, k->name != nullptr ? k->name : "?"});
  }
  std::free(buffer);
}

void write_trace() {
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  const char* path = std::getenv("SAMEPAGE_TRACE_OUT");
  FILE* f = path != nullptr ? std::fopen(path, "w") : stderr;
  if (f == nullptr) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  std::sort(g_kernels->begin(), g_kernels->end(), [](const Kernel& a, const Kernel& b) { return a.start < b.start; });
  for (const Kernel& k : *g_kernels)
    std::fprintf(f, "%llu\t%llu\t%u\t%d\t%s\n", (unsigned long long)k.start, (unsigned long long)k.end, k.graph_id,
                 k.grid_x, k.name.c_str());
  if (f != stderr) std::fclose(f);
}

}  // namespace

extern "C" int InitializeInjection() {
  g_kernels = new std::vector<Kernel>();
  g_kernels->reserve(1 << 20);
  if (cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed) != CUPTI_SUCCESS ||
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) != CUPTI_SUCCESS ||
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY) != CUPTI_SUCCESS) {
    std::fprintf(stderr, "cuda_kernel_trace: CUPTI activity tracing unavailable\n");
    return 0;
  }
  std::atexit(write_trace);
  return 1;
}
