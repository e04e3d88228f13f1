// Saving an instance: its state read between calls into a SnapshotImage and
// streamed to a file (written beside it, then renamed into place).
#include "runtime/instance_snapshot.h"
#include "runtime/snapshot_api_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_map>

#include "engine/loaded_module.h"
#include "engine/sha256.h"
#include "runtime/instance_state.h"

namespace samepage {
namespace {

// Non-zero granules outside file mappings, coalesced into chunks.
std::vector<SnapshotChunk> memory_chunks(const LinearMemory& memory) {
  std::vector<SnapshotChunk> chunks;
  const uint64_t size = memory.size_bytes();
  // Mapped ranges in address order, stepped over whole (one pass, not a
  // search of every mapping per granule).
  std::vector<std::pair<uint64_t, uint64_t>> mapped;
  for (const FileMapping& m : memory.file_mappings()) mapped.push_back({m.guest_offset, m.guest_offset + m.n_mapped_bytes});
  std::sort(mapped.begin(), mapped.end());
  auto next_mapped = mapped.begin();
  for (uint64_t at = 0; at < size; at += kSnapshotGranuleBytes) {
    while (next_mapped != mapped.end() && next_mapped->second <= at) ++next_mapped;
    if (next_mapped != mapped.end() && at >= next_mapped->first) {
      at = next_mapped->second - kSnapshotGranuleBytes;  // mappings are whole host pages: granule multiples
      continue;
    }
    if (granule_is_zero(memory.base() + at)) continue;
    if (!chunks.empty() && chunks.back().offset + chunks.back().n_bytes == at)
      chunks.back().n_bytes += kSnapshotGranuleBytes;
    else
      chunks.push_back({at, kSnapshotGranuleBytes, memory.base() + at});
  }
  return chunks;
}

// A funcref as a function index of the module (or null), refused when it is
// not one this instance's functions would make.
struct FuncrefIndex {
  const LoadedModule& loaded;
  const uint8_t* instance;
  std::unordered_map<const void*, uint32_t> by_fn;
  FuncrefIndex(const LoadedModule& l, const void* inst) : loaded(l), instance(static_cast<const uint8_t*>(inst)) {
    for (size_t i = loaded.functions().size(); i-- > 0;) by_fn[reinterpret_cast<const void*>(loaded.functions()[i].fn)] = static_cast<uint32_t>(i);
  }
  Result<uint32_t> index(const wasm_rt_funcref_t& ref) const {
    if (ref.func == nullptr) return kSnapshotNullFunc;
    auto it = by_fn.find(reinterpret_cast<const void*>(ref.func));
    if (it == by_fn.end()) return err("snapshot::save", "a funcref names no function of the module");
    const GlueFunction& f = loaded.functions()[it->second];
    if (ref.func_type != *f.type_id || ref.module_instance != instance + f.module_offset)
      return err("snapshot::save", "a funcref does not belong to this instance");
    return it->second;
  }
};

}  // namespace

Result<SnapshotImage> InstanceSnapshot::capture(const Instance& instance, HostApiState* api_state) {
  const char* where = "snapshot::save";
  if (instance.ended_) return err(where, "the guest has ended (" + instance.end_message_ + ")");
  const Instance::State& st = *instance.state_;
  const LoadedModule& loaded = instance.module_->loaded();
  SnapshotImage image;
  image.module_sha256 = loaded.wasm_sha256();
  if (const LinearMemory* memory = instance.memory_; memory != nullptr) {
    if (memory->lost_file_bytes() != 0) return err(where, "a mapped file shrank under its mapping");
    image.has_memory = true;
    image.memory_pages = memory->pages();
    image.chunks = memory_chunks(*memory);
    for (const FileMapping& m : memory->file_mappings()) {
      if (m.origin.preopen.empty())
        return err(where, "the file mapped at " + std::to_string(m.guest_offset) + " was not opened beneath a preopen");
      SnapshotMapping out;
      out.guest_offset = m.guest_offset;
      out.n_bytes = m.n_bytes;
      out.preopen = m.origin.preopen;
      out.path = m.origin.path;
      out.file_offset = m.file_offset;
      Sha256 sha;
      sha.update(memory->base() + m.guest_offset, m.n_bytes);
      out.sha256 = sha.finish();
      image.mappings.push_back(std::move(out));
    }
  }
  const FuncrefIndex funcs(loaded, st.instance_struct);
  const auto* base = static_cast<const uint8_t*>(st.instance_struct);
  for (size_t i = 0; i < loaded.globals().size(); ++i) {
    const GlueGlobal& g = loaded.globals()[i];
    if (!g.is_mutable) continue;
    SnapshotGlobal out;
    out.index = static_cast<uint32_t>(i);
    out.type = g.type;
    const uint8_t* at = base + g.offset;
    switch (g.type) {
      case 'i': case 'f': { uint32_t v; std::memcpy(&v, at, 4); out.bits = v; break; }
      case 'I': case 'F': std::memcpy(&out.bits, at, 8); break;
      case 'r': {
        wasm_rt_funcref_t ref;
        std::memcpy(&ref, at, sizeof ref);
        auto index = funcs.index(ref);
        if (!index) return index.status();
        out.bits = *index;
        break;
      }
      case 'e': {
        wasm_rt_externref_t ref;
        std::memcpy(&ref, at, sizeof ref);
        if (ref != wasm_rt_externref_null_value) return err(where, "global " + std::to_string(i) + " holds a host reference");
        out.bits = kSnapshotNullFunc;
        break;
      }
      default: return err(where, "global " + std::to_string(i) + " has a type snapshots do not hold");
    }
    image.globals.push_back(out);
  }
  for (size_t i = 0; i < loaded.tables().size(); ++i) {
    const GlueTable& t = loaded.tables()[i];
    SnapshotTable out;
    out.elem_type = t.elem_type;
    if (t.elem_type == 'r') {
      const auto* table = reinterpret_cast<const wasm_rt_funcref_table_t*>(base + t.offset);
      out.entries.reserve(table->size);
      for (uint32_t k = 0; k < table->size; ++k) {
        auto index = funcs.index(table->data[k]);
        if (!index) return err(where, "table " + std::to_string(i) + " entry " + std::to_string(k) + ": " + index.message());
        out.entries.push_back(*index);
      }
    } else {
      const auto* table = reinterpret_cast<const wasm_rt_externref_table_t*>(base + t.offset);
      for (uint32_t k = 0; k < table->size; ++k)
        if (table->data[k] != wasm_rt_externref_null_value)
          return err(where, "table " + std::to_string(i) + " holds a host reference");
      out.entries.assign(table->size, kSnapshotNullFunc);
    }
    image.tables.push_back(std::move(out));
  }
  if (st.api) {
    auto saved = st.api->save_state();
    if (!saved) return saved.status();
    *api_state = std::move(saved).value();
    api_state_to_image(*api_state, &image);
  }
  return image;
}

namespace {
// A save holds the instance as a call does, from the capture to the last
// byte written: guest memory and runtime tensors are read as the file is
// written, so no call may run meanwhile.
struct SaveHold {
  std::atomic<bool>& flag;
  bool held = !flag.exchange(true);
  ~SaveHold() {
    if (held) flag = false;
  }
};
}  // namespace

Result<std::vector<uint8_t>> Instance::snapshot_bytes() const {
  const SaveHold hold{busy_};
  if (!hold.held) return err("snapshot::save", "a call is running: snapshots are taken between calls");
  HostApiState api_state;
  auto image = InstanceSnapshot::capture(*this, &api_state);
  if (!image) return image.status();
  return snapshot_to_bytes(*image);
}

Status Instance::save_snapshot(const std::string& path) const {
  const char* where = "snapshot::save";
  const SaveHold hold{busy_};
  if (!hold.held) return err(where, "a call is running: snapshots are taken between calls");
  HostApiState api_state;
  auto image = InstanceSnapshot::capture(*this, &api_state);
  if (!image) return image.status();
  // Beside the target, then renamed: a reader never sees half a snapshot.
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return err(where, "cannot create " + tmp + ": " + std::strerror(errno));
  std::vector<uint8_t> buffer;
  buffer.reserve(1 << 20);
  auto flush = [&]() -> Status {
    size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t n = ::write(fd, buffer.data() + done, buffer.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return err(where, "cannot write " + tmp + ": " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    buffer.clear();
    return Status::ok();
  };
  Status s = write_snapshot(*image, [&](const void* p, size_t n) -> Status {
    const auto* b = static_cast<const uint8_t*>(p);
    while (n > 0) {
      const size_t take = std::min(n, (size_t{1} << 20) - buffer.size());
      buffer.insert(buffer.end(), b, b + take);
      b += take;
      n -= take;
      if (buffer.size() == (size_t{1} << 20)) SNAP_TRY(flush());
    }
    return Status::ok();
  });
  if (s) s = flush();
  if (::close(fd) != 0 && s) s = err(where, "cannot write " + tmp + ": " + std::strerror(errno));
  if (s && ::rename(tmp.c_str(), path.c_str()) != 0) s = err(where, "cannot rename to " + path + ": " + std::strerror(errno));
  if (!s) ::unlink(tmp.c_str());
  return s;
}

}  // namespace samepage
