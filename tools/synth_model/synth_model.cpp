#include "synth_model.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "quantize.h"
#include "random.h"

namespace synth {
namespace {

constexpr uint64_t kUnitBytes = 4ull << 20;     // one thread's share of a tensor at a time
constexpr uint64_t kWindowBytes = 64ull << 20;  // filled in parallel, then written in one call

// A contiguous run of whole blocks of one tensor, plus the zero padding that
// follows the tensor when the run is its last.
struct Unit {
  const TensorPlan* tensor;
  uint64_t first_elem;
  uint64_t n_elems;
  uint64_t file_offset;  // of the first byte, in the data section
  uint64_t n_bytes;      // encoded bytes, padding included
  uint64_t n_padding;    // trailing zero bytes
};

std::vector<Unit> make_units(const std::vector<TensorPlan>& plan) {
  std::vector<Unit> units;
  for (size_t i = 0; i < plan.size(); ++i) {
    const TensorPlan& t = plan[i];
    const DtypeTraits& d = dtype_traits(t.type);
    const uint64_t end = i + 1 < plan.size() ? plan[i + 1].offset : t.offset + t.n_bytes;
    const uint64_t step = std::max<uint64_t>(kQuantBlock, kUnitBytes / d.block_bytes * d.block_elems / kQuantBlock * kQuantBlock);
    for (uint64_t e = 0; e < t.n_elems; e += step) {
      const uint64_t n = std::min(step, t.n_elems - e);
      Unit u{&t, e, n, t.offset + dtype_bytes(t.type, e), dtype_bytes(t.type, n), 0};
      if (e + n == t.n_elems) u.n_padding = end - (u.file_offset + u.n_bytes);
      u.n_bytes += u.n_padding;
      units.push_back(u);
    }
  }
  return units;
}

std::string write_all(int fd, const uint8_t* p, uint64_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = pwrite(fd, p, std::min<uint64_t>(n, 1ull << 30), static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return std::string("[synth] write failed: ") + std::strerror(errno);
    p += w, n -= static_cast<uint64_t>(w), offset += static_cast<uint64_t>(w);
  }
  return "";
}

}  // namespace

void draw_values(const Options& o, const TensorPlan& t, uint64_t first, uint64_t n, float* out) {
  if (!t.fixed.empty()) {
    std::copy_n(t.fixed.begin() + static_cast<ptrdiff_t>(first), n, out);
    return;
  }
  const uint64_t key = mix64(o.seed ^ hash_name(t.name));
  for (uint64_t done = 0; done < n; done += kQuantBlock) {
    Rng rng(mix64(key + (first + done) / kQuantBlock));
    const uint64_t m = std::min<uint64_t>(kQuantBlock, n - done);
    for (uint64_t j = 0; j < m; j += 2) {
      // Two 24-bit uniforms per draw, mapped to center +- half_width.
      const uint64_t r = rng.next();
      const float u0 = static_cast<float>(r >> 40) * 0x1.0p-24f;
      const float u1 = static_cast<float>((r >> 8) & 0xffffff) * 0x1.0p-24f;
      out[done + j] = t.center + t.half_width * (2.0f * u0 - 1.0f);
      if (j + 1 < m) out[done + j + 1] = t.center + t.half_width * (2.0f * u1 - 1.0f);
    }
  }
}

std::string write_synth_model(const Options& o, const std::string& path, WriteStats* stats) {
  std::string error;
  const std::vector<TensorPlan> plan = plan_tensors(o, &error);
  if (!error.empty()) return error;
  GgufHeaderWriter header_writer;
  write_header(o, plan, &header_writer);
  const std::vector<uint8_t> header = header_writer.finish();
  const std::vector<Unit> units = make_units(plan);

  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "[synth] cannot create " + path + ": " + std::strerror(errno);
  error = write_all(fd, header.data(), header.size(), 0);

  const unsigned n_threads = o.n_threads ? o.n_threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<uint8_t> buffers[2];
  std::thread writer;
  std::string writer_error;
  size_t next_unit = 0;
  for (int w = 0; error.empty() && next_unit < units.size(); ++w) {
    // The window: consecutive units up to kWindowBytes (at least one).
    const size_t begin = next_unit;
    const uint64_t base = units[begin].file_offset;
    size_t end = begin + 1;
    while (end < units.size() && units[end].file_offset + units[end].n_bytes - base <= kWindowBytes) ++end;
    next_unit = end;
    std::vector<uint8_t>& buf = buffers[w % 2];  // its previous write was joined below
    buf.resize(units[end - 1].file_offset + units[end - 1].n_bytes - base);

    std::atomic<size_t> claim{begin};
    auto fill = [&] {
      std::vector<float> values;
      for (size_t i; (i = claim.fetch_add(1)) < end;) {
        const Unit& u = units[i];
        values.resize(u.n_elems);
        draw_values(o, *u.tensor, u.first_elem, u.n_elems, values.data());
        uint8_t* dst = buf.data() + (u.file_offset - base);
        dtype_traits(u.tensor->type).encode(values.data(), u.n_elems, dst);
        std::memset(dst + u.n_bytes - u.n_padding, 0, u.n_padding);
      }
    };
    std::vector<std::thread> workers;
    for (unsigned t = 1; t < n_threads; ++t) workers.emplace_back(fill);
    fill();
    for (std::thread& t : workers) t.join();

    if (writer.joinable()) writer.join();
    error = writer_error;
    writer = std::thread([&, &out = buf, at = header.size() + base] {
      writer_error = write_all(fd, out.data(), out.size(), at);
    });
  }
  if (writer.joinable()) writer.join();
  if (error.empty()) error = writer_error;
  if (close(fd) != 0 && error.empty()) error = std::string("[synth] close failed: ") + std::strerror(errno);
  if (!error.empty()) return error;
  if (stats != nullptr) {
    stats->n_bytes = header.size() + (plan.back().offset + plan.back().n_bytes);
    stats->n_tensors = plan.size();
    stats->n_threads = n_threads;
  }
  return "";
}

}  // namespace synth
