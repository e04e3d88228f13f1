// Guest linear memory that samepage owns (DESIGN.md §1.2, §3).
//
// One reservation of 4 GiB plus a 4 GiB guard is made up front, so that any
// wasm32 address plus a 32-bit static offset lands inside it: out-of-bounds
// accesses hit PROT_NONE pages and trap instead of being checked in code.
// Pages are committed (made read-write) as the memory grows; the base never
// moves, so backends may keep registrations of it for the guest's lifetime.
#pragma once

#include <atomic>
#include <csignal>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "samepage/status.h"

namespace samepage {

constexpr uint64_t kWasmPageBytes = 64 * 1024;
// wasm_rt_memory_t keeps the byte size in a u32, so this wasm2c can address
// one page less than the full 4 GiB.
constexpr uint32_t kMaxWasmPages = 65535;
constexpr uint64_t kGuestAddressSpaceBytes = uint64_t{1} << 32;
constexpr uint32_t kGrowFailed = 0xffffffffu;  // the Wasm sentinel

// The host's page size: the granule of protection and file mapping.
uint64_t host_page_bytes();

struct MemoryOptions {
  uint64_t alignment_bytes = 64 * 1024;  // base alignment; a power of two >= host page
  // After the 4 GiB: a 32-bit address plus a 32-bit offset plus an access of up
  // to 8 bytes must land in it, so 4 GiB and one more page.
  uint64_t guard_bytes = (uint64_t{4} << 30) + 64 * 1024;
};

// What happens to guest memory, told to whoever computes on it (a backend
// may have pages registered or pinned). Pages about to be replaced are
// announced before they change; the rest after.
enum class MemoryEventKind {
  MemoryEvent_grow,       // after: [offset, +n_bytes) is newly committed (zeroed)
  MemoryEvent_file_map,   // before: these pages become a read-only file mapping
  MemoryEvent_file_unmap, // before: a file mapping becomes zeroed anonymous pages
  MemoryEvent_protect,    // after: these pages became read-only (a const tensor)
  MemoryEvent_unprotect,  // after: these pages became writable again
  MemoryEvent_release,    // before: the whole reservation goes (offset 0, reserved bytes)
};
const char* memory_event_name(MemoryEventKind kind);
struct MemoryEvent {
  MemoryEventKind kind;
  uint64_t offset = 0;   // guest offset
  uint64_t n_bytes = 0;
};

// Where a mapped file came from, as the guest named it: a preopen's guest
// path and the path beneath it. Snapshots record a mapping by its origin and
// reopen it through the restoring run's preopens; empty preopen: unknown (a
// mapping without one is not snapshotted).
struct FileOrigin {
  std::string preopen;
  std::string path;
};

// Which file a mapping shows, as the host found it when mapping it (fstat):
// mappings of one identity show the same bytes, so a backend may keep one
// device copy of them for every guest that maps them (the same model file
// served to several guests). inode 0: unknown.
struct FileIdentity {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;  // ctime: no process can set it (a guest may set mtime through WASI)
  bool known() const { return inode != 0; }
  bool operator==(const FileIdentity& o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
  }
};

// A file region mapped read-only into guest memory (zero-copy model loading).
struct FileMapping {
  uint64_t guest_offset = 0;
  uint64_t n_bytes = 0;          // bytes of the file that are mapped
  uint64_t n_mapped_bytes = 0;   // n_bytes rounded up to host pages
  uint64_t file_offset = 0;      // where in the file the mapped bytes start
  std::string path;              // names the file in errors
  FileOrigin origin;
  FileIdentity file;
};

class LinearMemory {
 public:
  static Result<std::unique_ptr<LinearMemory>> create(uint32_t initial_pages, uint32_t max_pages,
                                                      const MemoryOptions& options = {});
  ~LinearMemory();
  LinearMemory(const LinearMemory&) = delete;
  LinearMemory& operator=(const LinearMemory&) = delete;

  uint8_t* base() const { return base_; }
  uint32_t pages() const { return pages_; }
  uint32_t max_pages() const { return max_pages_; }
  uint64_t size_bytes() const { return uint64_t{pages_} * kWasmPageBytes; }
  uint64_t reserved_bytes() const { return reserved_bytes_; }
  bool contains(const void* host_address) const;

  // Commits delta_pages more pages and returns the previous page count, or
  // kGrowFailed (memory unchanged) past the maximum or when the OS refuses.
  uint32_t grow(uint32_t delta_pages);

  // Backends learn about guest memory through events (MemoryEventKind):
  // [0, size_bytes()) is always committed. Listeners run in the order added,
  // on the thread that changes the memory; they must not fail or throw.
  using EventListener = std::function<void(const MemoryEvent& event)>;
  // Returns an id for remove_event_listener (a listener that goes first).
  size_t add_event_listener(EventListener listener);
  void remove_event_listener(size_t id);

  // Maps [file_offset, file_offset + n_bytes) of `path` at guest_offset,
  // MAP_SHARED and PROT_READ: no anonymous copy, a guest write traps, and a
  // GPU backend can pin the pages without copying them. guest_offset and
  // file_offset must be host-page aligned; the range must be committed.
  Status map_file(uint64_t guest_offset, const std::string& path, uint64_t file_offset,
                  uint64_t n_bytes);
  // The same for a file the caller has open (read-only is enough); the fd
  // stays the caller's. label names the file in errors and file_mappings(),
  // origin is kept there for snapshots. A range over write-protected (const)
  // pages or another mapping is refused.
  Status map_file(uint64_t guest_offset, int fd, uint64_t file_offset, uint64_t n_bytes,
                  const std::string& label, FileOrigin origin = {});
  // Replaces a mapping made by map_file with fresh zeroed read-write pages.
  Status unmap_file(uint64_t guest_offset);
  const std::vector<FileMapping>& file_mappings() const { return file_mappings_; }

  // A mapped file can shrink under its mapping (truncated through another fd,
  // by this guest or anyone), and a read past its new end raises SIGBUS, in
  // guest code or inside a host kernel on any thread. absorb_lost_file_page()
  // (below) then replaces the mapping from that page on with zeroed read-only
  // pages and raises this flag, so the call running on this memory ends at
  // its next host-call gate. nullptr when no call runs.
  void set_fault_flag(volatile sig_atomic_t* flag, sig_atomic_t bit) {
    fault_flag_bit_.store(bit, std::memory_order_relaxed);
    fault_flag_.store(flag, std::memory_order_release);
  }
  // Pages of file mappings replaced by zeros after their file shrank.
  uint64_t lost_file_bytes() const { return lost_file_bytes_.load(std::memory_order_relaxed); }

  // Write-protects [offset, offset + n_bytes) for a const tensor, so a guest
  // write there traps (DESIGN.md §3). Only a range of whole host pages is
  // protected: Protection_none says a range that is not; file-mapped pages
  // are read-only already. Protections nest and merge: overlapping or
  // adjacent ranges share one protected run (one kernel mapping), counted
  // against max_runs and against a process-wide quarter of vm.max_map_count;
  // a run past either, or an mprotect the kernel refuses (its map count), is
  // an error and nothing changes.
  enum class Protection { Protection_none, Protection_protected, Protection_file_mapped };
  Result<Protection> protect(uint64_t offset, uint64_t n_bytes, uint32_t max_runs);
  // Undoes one protect() of the same range: pages no other protection covers
  // become writable again. Pages whose release would split a run past
  // max_runs, or that the kernel cannot reopen (error), stay read-only.
  Status unprotect(uint64_t offset, uint64_t n_bytes, uint32_t max_runs);
  // Protected runs now (each a kernel mapping of its own).
  size_t protected_runs() const { return runs_.size(); }
  // False when any byte of the range is outside the memory, write-protected
  // or file-mapped. Host code checks this before it writes guest memory, so
  // a guest cannot make the host fault on its read-only pages.
  bool is_writable(uint64_t offset, uint64_t n_bytes) const;

 private:
  LinearMemory() = default;

  uint8_t* base_ = nullptr;
  uint64_t reserved_bytes_ = 0;     // from base_: address space + guard
  uint32_t pages_ = 0;
  uint32_t max_pages_ = 0;
  std::vector<std::pair<size_t, EventListener>> listeners_;
  size_t next_listener_ = 1;
  void notify(const MemoryEvent& event) const {
    for (const auto& [id, listener] : listeners_) listener(event);
  }
  std::vector<FileMapping> file_mappings_;
  // A maximal read-only stretch of pages and the protect() calls inside it:
  // (lo, hi) of each, with how many times it was asked for.
  struct ProtectedRun {
    uint64_t hi = 0;  // lo is the key in runs_; host-page aligned guest offsets
    std::map<std::pair<uint64_t, uint64_t>, uint32_t> requests;
  };
  std::map<uint64_t, ProtectedRun> runs_;  // by lo; disjoint and never adjacent
  Status set_writable(uint64_t lo, uint64_t hi, bool writable);
  void count_runs(size_t runs_before);  // the process-wide count follows runs_
  void forget_runs();                   // the reservation goes: so do its runs
  friend bool absorb_lost_file_page(const void* host_address);
  bool absorb_lost_file_page_here(const uint8_t* address);
  std::atomic<volatile sig_atomic_t*> fault_flag_{nullptr};
  std::atomic<sig_atomic_t> fault_flag_bit_{0};
  std::atomic<uint64_t> lost_file_bytes_{0};
};

// For the SIGBUS handler (async-signal-safe): true when host_address is in a
// file mapping of a live LinearMemory, which is then made readable as zeros
// from that page to the mapping's end and its fault flag raised; the faulting
// access may be retried. False for any other address.
bool absorb_lost_file_page(const void* host_address);

// Process accounting for benchmarks and tests, read from /proc/self/status.
struct ProcessMemory {
  uint64_t rss_bytes = 0;
  uint64_t rss_anon_bytes = 0;
  uint64_t rss_file_bytes = 0;
  uint64_t rss_shmem_bytes = 0;
  bool read = false;   // false when /proc/self/status could not be read
  std::string error;   // why, then
};
ProcessMemory read_process_memory();

}  // namespace samepage
