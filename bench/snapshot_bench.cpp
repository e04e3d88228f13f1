// Snapshot save and restore of a guest with a large memory: the counter
// guest (guests/examples/snapshot_counter.c) grown by N MiB of which every
// other 64 KiB page is zero, plus its mapped file, runtime tensor and table.
//   snapshot_bench GUEST_DIR DATA_DIR [MIB=64] [ROUNDS=5] [OUT_DIR=/tmp]
// Prints the medians: save ms (to a file), restore ms (file → running
// instance), file bytes; and checks the restored guest steps identically.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "samepage/engine.h"
#include "samepage/instance.h"

using namespace samepage;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int32_t call(Instance& instance, const char* name, std::vector<uint64_t> args = {}) {
  auto r = instance.call(name, args);
  if (!r || r->kind != GuestOutcome::Kind::Kind_returned) {
    std::fprintf(stderr, "%s failed: %s\n", name, r ? r->message.c_str() : r.message().c_str());
    std::exit(1);
  }
  return static_cast<int32_t>(r->result);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: snapshot_bench GUEST_DIR DATA_DIR [MIB=64] [ROUNDS=5] [OUT_DIR=/tmp]\n");
    return 2;
  }
  const std::string guest = std::string(argv[1]) + "/snapshot_counter.wasm";
  const int mib = argc > 3 ? std::atoi(argv[3]) : 64;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 5;
  const std::string out = std::string(argc > 5 ? argv[5] : "/tmp") + "/snapshot_bench.snap";
  EngineOptions engine_options;
  engine_options.host_imports = host_imports();
  Engine engine(engine_options);
  auto module = engine.load_file(guest);
  if (!module) return std::fprintf(stderr, "%s\n", module.message().c_str()), 1;
  InstanceOptions options;
  options.wasi.args = {"snapshot_counter"};
  options.wasi.preopens.push_back({argv[2], "/data", false});
  auto created = Instance::create(module.value(), options);
  if (!created) return std::fprintf(stderr, "%s\n", created.message().c_str()), 1;
  Instance& instance = *created.value();
  if (call(instance, "setup") != 0) return std::fprintf(stderr, "setup failed\n"), 1;
  if (call(instance, "fill", {static_cast<uint64_t>(mib) * 16}) < 0) return std::fprintf(stderr, "fill failed\n"), 1;
  call(instance, "step");

  std::vector<double> save_ms, restore_ms;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (Status s = instance.save_snapshot(out); !s) return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;
    save_ms.push_back(ms_since(t0));
  }
  const int32_t expected = call(instance, "step");  // what the saved state does next
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto restored = Instance::restore(module.value(), options, out);
    if (!restored) return std::fprintf(stderr, "%s\n", restored.message().c_str()), 1;
    restore_ms.push_back(ms_since(t0));
    if (call(*restored.value(), "step") != expected) return std::fprintf(stderr, "restored guest diverged\n"), 1;
  }
  // The same without the file: capture to a buffer, restore from it.
  std::vector<double> bytes_ms, from_bytes_ms;
  std::vector<uint8_t> bytes;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto b = instance.snapshot_bytes();
    if (!b) return std::fprintf(stderr, "%s\n", b.message().c_str()), 1;
    bytes_ms.push_back(ms_since(t0));
    bytes = std::move(b).value();
  }
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto restored = Instance::restore_bytes(module.value(), options, bytes.data(), bytes.size());
    if (!restored) return std::fprintf(stderr, "%s\n", restored.message().c_str()), 1;
    from_bytes_ms.push_back(ms_since(t0));
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto fresh = Instance::create(module.value(), options);
  const double create_ms = ms_since(t0);
  if (!fresh) return 1;
  struct stat st {};
  stat(out.c_str(), &st);
  std::printf("memory %llu MiB (%d MiB filled, half zero), file %.1f MiB, save median %.1f ms, restore median %.1f ms "
              "(%d rounds; restored guest steps identically)\n",
              static_cast<unsigned long long>(instance.memory()->size_bytes() >> 20), mib,
              static_cast<double>(st.st_size) / (1 << 20), median(save_ms), median(restore_ms), rounds);
  std::printf("in memory (no file): capture %.1f ms, restore %.1f ms; a fresh Instance::create for comparison %.1f ms\n",
              median(bytes_ms), median(from_bytes_ms), create_ms);
  std::remove(out.c_str());
  return 0;
}
