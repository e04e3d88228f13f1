// Restoring an instance: the file is mapped read-only, checksummed and
// parsed (snapshot_reader.cpp), checked against the module, and only then
// applied to a fresh instance made with the restoring run's options. Any
// error drops that instance: nothing half-restored ever runs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/guarded_call.h"
#include "engine/loaded_module.h"
#include "engine/sha256.h"
#include "memory/file_view.h"
#include "runtime/instance_snapshot.h"
#include "runtime/snapshot_api_state.h"
#include "runtime/instance_state.h"
#include "wasi/wasi_abi.h"
#include "wasi/wasi_path.h"

namespace samepage {
namespace {

constexpr const char* kWhere = "snapshot::restore";

// The funcref module function `index` makes in this instance.
wasm_rt_funcref_t funcref_of(const LoadedModule& loaded, void* instance, uint32_t index) {
  if (index == kSnapshotNullFunc) return wasm_rt_funcref_null_value;
  const GlueFunction& f = loaded.functions()[index];
  return wasm_rt_funcref_t{*f.type_id, reinterpret_cast<wasm_rt_function_ptr_t>(f.fn),
                           static_cast<uint8_t*>(instance) + f.module_offset};
}

// Maps a recorded file at its guest offset, opened through the new run's
// preopen of the same guest path (sandboxed: wasi_path.h), then hashes the
// mapped guest bytes: what is checked is what the guest will read, with no
// second read of the file and no window between the check and the map.
// From then on the file's own changes show through, as for any map_file
// (MAP_SHARED, DESIGN.md §3). On error the caller drops the instance.
Status map_recorded_file(LinearMemory& memory, WasiContext& wasi, const SnapshotMapping& m) {
  const std::string shown = m.preopen + "/" + m.path;
  int dir = -1;
  for (uint32_t fd = 3; fd < wasi.max_fds(); ++fd) {
    const wasi::FdEntry* e = wasi.fd_get(fd);
    if (e == nullptr) break;  // preopens are contiguous from fd 3
    if (e->is_preopen && e->preopen_name == m.preopen) { dir = e->host.get(); break; }
  }
  if (dir < 0) return err(kWhere, "the snapshot maps " + shown + ", but this run has no preopen " + m.preopen);
  UniqueFd file;
  if (wasi::Errno e = wasi::open_beneath(dir, m.path, O_RDONLY, 0, &file); e != wasi::kErrnoSuccess)
    return err(kWhere, "cannot open the mapped file " + shown + " beneath its preopen (WASI errno " + std::to_string(e) + ")");
  if (Status s = memory.map_file(m.guest_offset, file.get(), m.file_offset, m.n_bytes, shown, {m.preopen, m.path}); !s)
    return err(kWhere, "cannot map " + shown + " again: " + s.message());
  // A file that shrinks while hashed reads as zeros past its end (the fault
  // handler, which restore_bytes installs): counted, so it is named.
  const uint64_t lost_before = memory.lost_file_bytes();
  Sha256 sha;
  sha.update(memory.base() + m.guest_offset, m.n_bytes);
  if (memory.lost_file_bytes() != lost_before) return err(kWhere, "the mapped file " + shown + " shrank while it was checked");
  if (sha.finish() != m.sha256) return err(kWhere, "the mapped file " + shown + " changed since the snapshot (content hash differs)");
  return Status::ok();
}

}  // namespace

Status InstanceSnapshot::check_against(const SnapshotImage& image, const Module& module, const InstanceOptions& options) {
  const LoadedModule& loaded = module.loaded();
  if (image.module_sha256 != loaded.wasm_sha256())
    return err(kWhere, "the snapshot is of another module (SHA-256 " + image.module_sha256.substr(0, 16) + "..., this is " +
                           loaded.wasm_sha256().substr(0, 16) + "...)");
  const ModuleInfo& info = module.info();
  if (image.has_memory != !info.memories.empty()) return err(kWhere, "the snapshot's memory does not match the module's");
  if (image.has_memory) {
    const MemoryLimits& limits = info.memories[0];
    if (image.memory_pages < limits.min_pages || (limits.has_max && image.memory_pages > limits.max_pages))
      return err(kWhere, "the snapshot's memory of " + std::to_string(image.memory_pages) + " pages is outside the module's limits");
  }
  if (image.mappings.size() > options.limits.const_ranges)
    return err(kWhere, std::to_string(image.mappings.size()) + " mapped files pass this guest's limit of " +
                           std::to_string(options.limits.const_ranges) + " (--max-const-ranges)");
  size_t n_mutable = 0;
  for (const GlueGlobal& g : loaded.globals()) n_mutable += g.is_mutable;
  if (image.globals.size() != n_mutable)
    return err(kWhere, "the snapshot holds " + std::to_string(image.globals.size()) + " globals, the module has " +
                           std::to_string(n_mutable) + " mutable ones");
  const size_t n_functions = loaded.functions().size();
  for (const SnapshotGlobal& g : image.globals) {
    if (g.index >= loaded.globals().size() || !loaded.globals()[g.index].is_mutable)
      return err(kWhere, "global " + std::to_string(g.index) + " is not a mutable global of the module");
    if (loaded.globals()[g.index].type != g.type)
      return err(kWhere, "global " + std::to_string(g.index) + " has type '" + std::string(1, g.type) + "' in the snapshot, '" +
                             std::string(1, loaded.globals()[g.index].type) + "' in the module");
    if (g.type == 'r' && g.bits != kSnapshotNullFunc && g.bits >= n_functions)
      return err(kWhere, "global " + std::to_string(g.index) + " names function " + std::to_string(g.bits) + " of " +
                             std::to_string(n_functions));
  }
  if (image.tables.size() != loaded.tables().size() || image.tables.size() != info.tables.size())
    return err(kWhere, "the snapshot holds " + std::to_string(image.tables.size()) + " tables, the module " +
                           std::to_string(loaded.tables().size()));
  uint64_t n_elements = 0;
  for (size_t i = 0; i < image.tables.size(); ++i) {
    const SnapshotTable& t = image.tables[i];
    const TableLimits& limits = info.tables[i];
    if (t.elem_type != loaded.tables()[i].elem_type) return err(kWhere, "table " + std::to_string(i) + " has another element type");
    if (t.entries.size() < limits.min_entries || (limits.has_max && t.entries.size() > limits.max_entries))
      return err(kWhere, "table " + std::to_string(i) + " of " + std::to_string(t.entries.size()) +
                             " entries is outside the module's limits");
    n_elements += t.entries.size();
    for (size_t k = 0; k < t.entries.size(); ++k)
      if (t.entries[k] != kSnapshotNullFunc && t.entries[k] >= n_functions)
        return err(kWhere, "table " + std::to_string(i) + " entry " + std::to_string(k) + " names function " +
                               std::to_string(t.entries[k]) + " of " + std::to_string(n_functions));
  }
  if (n_elements > options.limits.table_elements)
    return err(kWhere, "the snapshot's tables hold " + std::to_string(n_elements) + " elements, over this guest's limit of " +
                           std::to_string(options.limits.table_elements) + " (--max-table-elements)");
  bool imports_api = false;
  for (const ImportInfo& imp : info.imports) imports_api |= imp.module == "samepage";
  if (image.api.present != imports_api) return err(kWhere, "the snapshot's host API state does not match the module's imports");
  return Status::ok();
}

Status InstanceSnapshot::apply(Instance& instance, const SnapshotImage& image) {
  Instance::State& st = *instance.state_;
  const LoadedModule& loaded = instance.module_->loaded();
  if (LinearMemory* memory = instance.memory_; memory != nullptr) {
    if (image.memory_pages < memory->pages())
      return err(kWhere, "the snapshot's memory is smaller than the module's start function left it");
    // Pages grown below are fresh zeros: only what instantiation left needs clearing.
    const uint64_t instantiated_end = memory->size_bytes();
    if (image.memory_pages > memory->pages() && memory->grow(image.memory_pages - memory->pages()) == kGrowFailed)
      return err(kWhere, "cannot grow guest memory to " + std::to_string(image.memory_pages) + " pages");
    if (st.context.memory != nullptr) {  // wasm2c's view of the size follows the memory
      st.context.memory->pages = memory->pages();
      st.context.memory->size = static_cast<uint32_t>(memory->size_bytes());
    }
    // Bytes the snapshot does not hold are zero: clear what instantiation
    // wrote there (data segments), touching only granules that are not.
    uint64_t at = 0;
    auto clear_to = [&](uint64_t end) {
      for (end = std::min(end, instantiated_end); at < end; at += kSnapshotGranuleBytes) {
        uint8_t* p = memory->base() + at;
        if (!granule_is_zero(p)) std::memset(p, 0, kSnapshotGranuleBytes);
      }
    };
    for (const SnapshotChunk& c : image.chunks) {
      clear_to(c.offset);
      std::memcpy(memory->base() + c.offset, c.bytes, c.n_bytes);
      at = c.offset + c.n_bytes;
    }
    clear_to(memory->size_bytes());
    for (const SnapshotMapping& m : image.mappings) SNAP_TRY(map_recorded_file(*memory, *st.wasi, m));
  }
  auto* base = static_cast<uint8_t*>(st.instance_struct);
  for (const SnapshotGlobal& g : image.globals) {
    uint8_t* at = base + loaded.globals()[g.index].offset;
    switch (g.type) {
      case 'i': case 'f': { const uint32_t v = static_cast<uint32_t>(g.bits); std::memcpy(at, &v, 4); break; }
      case 'I': case 'F': std::memcpy(at, &g.bits, 8); break;
      case 'r': {
        const wasm_rt_funcref_t ref = funcref_of(loaded, base, static_cast<uint32_t>(g.bits));
        std::memcpy(at, &ref, sizeof ref);
        break;
      }
      case 'e': {
        const wasm_rt_externref_t ref = wasm_rt_externref_null_value;
        std::memcpy(at, &ref, sizeof ref);
        break;
      }
    }
  }
  for (size_t i = 0; i < image.tables.size(); ++i) {
    const SnapshotTable& t = image.tables[i];
    const size_t offset = loaded.tables()[i].offset;
    if (t.elem_type == 'r') {
      auto* table = reinterpret_cast<wasm_rt_funcref_table_t*>(base + offset);
      // Tables only grow; grown through the runtime so the guest is charged.
      if (t.entries.size() < table->size) return err(kWhere, "table " + std::to_string(i) + " is smaller than at instantiation");
      const uint32_t delta = static_cast<uint32_t>(t.entries.size() - table->size);
      if (delta > 0 && wasm_rt_grow_funcref_table(table, delta, wasm_rt_funcref_null_value) == 0xffffffffu)
        return err(kWhere, "cannot grow table " + std::to_string(i) + " to " + std::to_string(t.entries.size()) + " entries");
      for (size_t k = 0; k < t.entries.size(); ++k) table->data[k] = funcref_of(loaded, base, t.entries[k]);
    } else {
      auto* table = reinterpret_cast<wasm_rt_externref_table_t*>(base + offset);
      if (t.entries.size() < table->size) return err(kWhere, "table " + std::to_string(i) + " is smaller than at instantiation");
      const uint32_t delta = static_cast<uint32_t>(t.entries.size() - table->size);
      if (delta > 0 && wasm_rt_grow_externref_table(table, delta, wasm_rt_externref_null_value) == 0xffffffffu)
        return err(kWhere, "cannot grow table " + std::to_string(i));
      for (size_t k = 0; k < t.entries.size(); ++k) table->data[k] = wasm_rt_externref_null_value;
    }
  }
  if (st.api) {
    const HostApiState state = api_state_from_image(image);
    SNAP_TRY(st.api->restore_state(state));
  }
  return Status::ok();
}

Result<std::unique_ptr<Instance>> Instance::restore_bytes(std::shared_ptr<Module> module, const InstanceOptions& options,
                                                          const uint8_t* bytes, size_t n_bytes) {
  // Before the first read of a mapped file (the snapshot's own, or one it
  // maps into the guest): one that shrinks then is an error, not a SIGBUS.
  install_fault_handlers();
  auto image = parse_snapshot(bytes, n_bytes);
  if (!image) return image.status();
  SNAP_TRY(InstanceSnapshot::check_against(*image, *module, options));
  auto instance = create_impl(module, options, nullptr, false);
  if (!instance) return err(kWhere, instance.message());
  SNAP_TRY(InstanceSnapshot::apply(**instance, *image));
  return instance;
}

Result<std::unique_ptr<Instance>> Instance::restore(std::shared_ptr<Module> module, const InstanceOptions& options,
                                                    const std::string& snapshot_path) {
  // The file is checked whole before it is used: bounded by what a valid
  // snapshot of this module can hold — its memory at the module's maximum
  // (4 GiB without one), runtime tensors within the guest's host-memory
  // limit, and the format's own bytes — so a hostile file cannot make the
  // restoring host take on more than the guest itself could.
  uint64_t memory_bytes = 0;
  if (!module->info().memories.empty()) {
    const MemoryLimits& limits = module->info().memories[0];
    memory_bytes = limits.has_max ? std::min<uint64_t>(limits.max_pages * kWasmPageBytes, kGuestAddressSpaceBytes)
                                  : kGuestAddressSpaceBytes;
  }
  const uint64_t max_bytes = memory_bytes + options.limits.host_bytes + (uint64_t{64} << 20);
  UniqueFd fd(::open(snapshot_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return err(kWhere, "cannot open " + snapshot_path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return err(kWhere, snapshot_path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return err(kWhere, snapshot_path + " is " + std::to_string(st.st_size) + " bytes, more than a guest can hold (" +
                           std::to_string(max_bytes) + ")");
  // Mapped, not read into a host buffer that no guest is charged for. Saves
  // write a new file and rename it over the old, so a mapping never sees a
  // save. Whoever writes the file in place could change bytes between the
  // checksum, the parse and the copy into the guest: the parser copies each
  // field out once and checks that copy (SHA-256 finds corruption, it
  // authenticates no one), and what stays in place is memory and tensor
  // contents, which only decide what the restored guest holds — as a whole
  // file that writer made could. A file truncated meanwhile would raise
  // SIGBUS: the handler (restore_bytes installs it) makes the lost pages
  // zeros and the view says so.
  auto view = FileView::map(fd.get(), static_cast<uint64_t>(st.st_size), kWhere);
  if (!view) return view.status();
  auto restored = restore_bytes(std::move(module), options, view->data(), view->size());
  if (view->shrank()) return err(kWhere, snapshot_path + " shrank while it was being restored");
  // A truncation inside the last page raises no SIGBUS, and a rewrite in
  // place (cp over the file) can land after the checksum: either changes the
  // file's size or times, so the instance restored from it is dropped.
  struct stat after {};
  if (::fstat(fd.get(), &after) != 0 || after.st_size != st.st_size || after.st_ino != st.st_ino ||
      after.st_mtim.tv_sec != st.st_mtim.tv_sec || after.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
      after.st_ctim.tv_sec != st.st_ctim.tv_sec || after.st_ctim.tv_nsec != st.st_ctim.tv_nsec)
    return err(kWhere, snapshot_path + " changed while it was being restored");
  return restored;
}

}  // namespace samepage
