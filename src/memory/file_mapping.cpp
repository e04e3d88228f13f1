// Zero-copy model loading: file pages mapped straight into guest memory.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "memory/live_memories.h"
#include "memory/map_count.h"
#include "samepage/linear_memory.h"

namespace samepage {
namespace {

uint64_t round_up(uint64_t x, uint64_t to) { return (x + to - 1) / to * to; }

}  // namespace

Status LinearMemory::map_file(uint64_t guest_offset, const std::string& path,
                              uint64_t file_offset, uint64_t n_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err("memory::map_file", "cannot open " + path + ": " + strerror(errno));
  Status s = map_file(guest_offset, fd, file_offset, n_bytes, path);
  close(fd);
  return s;
}

Status LinearMemory::map_file(uint64_t guest_offset, int fd, uint64_t file_offset, uint64_t n_bytes,
                              const std::string& label, FileOrigin origin) {
  const char* where = "memory::map_file";
  const uint64_t page = host_page_bytes();
  if (guest_offset % page != 0 || file_offset % page != 0)
    return err(where, "guest offset and file offset must be multiples of " +
                          std::to_string(page) + " bytes");
  if (n_bytes == 0) return err(where, "nothing to map: length is 0");
  if (n_bytes > kGuestAddressSpaceBytes) return err(where, "length is past 4 GiB");
  const uint64_t n_mapped = round_up(n_bytes, page);
  if (guest_offset > size_bytes() || n_mapped > size_bytes() - guest_offset)
    return err(where, "guest range [" + std::to_string(guest_offset) + ", +" +
                          std::to_string(n_mapped) + ") is outside the committed " +
                          std::to_string(size_bytes()) + " bytes");
  for (const FileMapping& m : file_mappings_) {
    if (guest_offset < m.guest_offset + m.n_mapped_bytes && m.guest_offset < guest_offset + n_mapped)
      return err(where, "guest range overlaps the mapping of " + m.path + " (unmap it first)");
  }
  // Replacing write-protected pages would leave the const bookkeeping wrong.
  auto run = runs_.lower_bound(guest_offset + n_mapped);
  if (run != runs_.begin() && std::prev(run)->second.hi > guest_offset)
    return err(where, "guest range overlaps write-protected pages of a const tensor");
  if (g_process_read_only_ranges.load() >= process_read_only_range_limit())
    return err(where, "the process holds " + std::to_string(g_process_read_only_ranges.load()) +
                          " read-only ranges for all its guests, its limit (a quarter of vm.max_map_count)");
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return err(where, label + " is not a regular file");
  const auto file_bytes = static_cast<uint64_t>(st.st_size);
  if (file_offset > file_bytes || n_bytes > file_bytes - file_offset)
    return err(where, "file range [" + std::to_string(file_offset) + ", +" +
                          std::to_string(n_bytes) + ") is past the end of " + label + " (" +
                          std::to_string(file_bytes) + " bytes)");
  notify({MemoryEventKind::MemoryEvent_file_map, guest_offset, n_mapped});
  // MAP_SHARED + PROT_READ: one page-cache copy, no private anonymous pages,
  // and cudaHostRegister can pin it read-only without copying (DESIGN.md §3).
  void* at = mmap(base_ + guest_offset, n_mapped, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
                  static_cast<off_t>(file_offset));
  if (at == MAP_FAILED) {
    const int map_errno = errno;
    // MAP_FIXED may have dropped the old pages: put zeroed read-write ones back.
    mmap(base_ + guest_offset, n_mapped, PROT_READ | PROT_WRITE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    notify({MemoryEventKind::MemoryEvent_file_unmap, guest_offset, n_mapped});
    return err(where, std::string("mmap failed: ") + strerror(map_errno));
  }
  const FileIdentity file{uint64_t(st.st_dev), uint64_t(st.st_ino), file_bytes,
                          int64_t(st.st_mtim.tv_sec) * 1000000000 + int64_t(st.st_mtim.tv_nsec),
                          int64_t(st.st_ctim.tv_sec) * 1000000000 + int64_t(st.st_ctim.tv_nsec)};
  file_mappings_.push_back(FileMapping{guest_offset, n_bytes, n_mapped, file_offset, label, std::move(origin), file});
  g_process_read_only_ranges.fetch_add(1);
  return Status::ok();
}

Status LinearMemory::unmap_file(uint64_t guest_offset) {
  for (auto it = file_mappings_.begin(); it != file_mappings_.end(); ++it) {
    if (it->guest_offset != guest_offset) continue;
    // Announced first: a backend may have these pages pinned.
    notify({MemoryEventKind::MemoryEvent_file_unmap, guest_offset, it->n_mapped_bytes});
    void* at = mmap(base_ + guest_offset, it->n_mapped_bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    if (at == MAP_FAILED)
      return err("memory::unmap_file", std::string("mmap failed: ") + strerror(errno));
    file_mappings_.erase(it);
    g_process_read_only_ranges.fetch_sub(1);
    return Status::ok();
  }
  return err("memory::unmap_file", "no file is mapped at guest offset " + std::to_string(guest_offset));
}

bool LinearMemory::absorb_lost_file_page_here(const uint8_t* address) {
  // Runs in a signal handler: file_mappings_ cannot change meanwhile, since it
  // changes only in a host call of the one guest call that runs on this memory,
  // and that call is the one blocked on (or making) the faulting access.
  for (const FileMapping& m : file_mappings_) {
    uint8_t* lo = base_ + m.guest_offset;
    uint8_t* hi = lo + m.n_mapped_bytes;
    if (address < lo || address >= hi) continue;
    const uint64_t page = host_page_bytes();
    auto* from = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(address) & ~(page - 1));
    // Everything past a shrunk file's end faults alike: replace it all at once
    // (one kernel mapping, not one per page). Still read-only, as file pages were.
    if (mmap(from, static_cast<size_t>(hi - from), PROT_READ,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
      return false;
    lost_file_bytes_.fetch_add(static_cast<uint64_t>(hi - from), std::memory_order_relaxed);
    volatile sig_atomic_t* flag = fault_flag_.load(std::memory_order_acquire);
    if (flag != nullptr)
      __atomic_or_fetch(flag, fault_flag_bit_.load(std::memory_order_relaxed), __ATOMIC_SEQ_CST);
    return true;
  }
  return false;
}

bool absorb_lost_file_page(const void* host_address) {
  LinearMemory* memory = live_memory_containing(host_address);
  return memory != nullptr && memory->absorb_lost_file_page_here(static_cast<const uint8_t*>(host_address));
}

}  // namespace samepage
