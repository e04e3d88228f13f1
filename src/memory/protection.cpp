// Read-only guest pages: const tensors (protect) and file mappings. Host code
// asks is_writable before writing guest memory.
//
// Every protected stretch of pages splits the reservation's mapping, and the
// kernel caps mappings per process (vm.max_map_count, 65530 by default) for
// all guests together. So ranges that overlap or touch are merged into one
// run (N views of one weight blob cost one mapping), runs are counted against
// the guest's limit and the process's, and every mprotect is checked.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "memory/map_count.h"
#include "samepage/linear_memory.h"

namespace samepage {
namespace {

bool overlaps(uint64_t a_lo, uint64_t a_hi, uint64_t b_lo, uint64_t b_hi) { return a_lo < b_hi && b_lo < a_hi; }

std::string range_text(uint64_t lo, uint64_t hi) {
  return "[" + std::to_string(lo) + ", " + std::to_string(hi) + ")";
}

}  // namespace

// Checked, then counted: guests racing on threads may pass it by a few.
std::atomic<uint64_t> g_process_read_only_ranges{0};

uint64_t process_read_only_range_limit() {
  static const uint64_t limit = [] {
    uint64_t max_map_count = 65530;  // the kernel's default
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
      unsigned long long v = 0;
      if (std::fscanf(f, "%llu", &v) == 1 && v > 0) max_map_count = v;
      std::fclose(f);
    }
    return max_map_count / 4;
  }();
  return limit;
}

void LinearMemory::count_runs(size_t before) {
  if (runs_.size() >= before) g_process_read_only_ranges.fetch_add(runs_.size() - before);
  else g_process_read_only_ranges.fetch_sub(before - runs_.size());
}

Status LinearMemory::set_writable(uint64_t lo, uint64_t hi, bool writable) {
  if (hi <= lo) return Status::ok();
  if (mprotect(base_ + lo, hi - lo, writable ? PROT_READ | PROT_WRITE : PROT_READ) == 0) {
    notify({writable ? MemoryEventKind::MemoryEvent_unprotect : MemoryEventKind::MemoryEvent_protect, lo, hi - lo});
    return Status::ok();
  }
  const int e = errno;
  return err(writable ? "memory::unprotect" : "memory::protect",
             std::string("mprotect of guest bytes ") + range_text(lo, hi) + " failed: " + std::strerror(e) +
                 (e == ENOMEM ? " (the process is at the kernel's map count limit, vm.max_map_count)" : ""));
}

Result<LinearMemory::Protection> LinearMemory::protect(uint64_t offset, uint64_t n_bytes, uint32_t max_runs) {
  const uint64_t page = host_page_bytes();
  if (offset > size_bytes() || n_bytes > size_bytes() - offset)
    return err("memory::protect", range_text(offset, offset + n_bytes) + " is outside guest memory");
  if (offset % page != 0 || n_bytes % page != 0 || n_bytes == 0) return Protection::Protection_none;
  const uint64_t lo = offset, hi = offset + n_bytes;
  // File-mapped pages are read-only already, and unprotect must never try to
  // make them writable (mprotect would refuse and leave the range half-done).
  for (const FileMapping& m : file_mappings_)
    if (overlaps(m.guest_offset, m.guest_offset + m.n_mapped_bytes, lo, hi)) return Protection::Protection_file_mapped;

  // The runs this range overlaps or touches: they become one.
  auto first = runs_.upper_bound(lo);
  if (first != runs_.begin() && std::prev(first)->second.hi >= lo) --first;
  auto last = first;
  uint64_t new_lo = lo, new_hi = hi;
  size_t n_merged = 0;
  for (; last != runs_.end() && last->first <= hi; ++last, ++n_merged) {
    new_lo = std::min(new_lo, last->first);
    new_hi = std::max(new_hi, last->second.hi);
  }
  if (n_merged == 1 && first->first <= lo && first->second.hi >= hi) {
    // Inside one run already: pages are read-only, only the count changes.
    ++first->second.requests[{lo, hi}];
    return Protection::Protection_protected;
  }
  if (runs_.size() - n_merged + 1 > max_runs)
    return err("memory::protect", "protecting " + range_text(lo, hi) + " would make " +
                                      std::to_string(runs_.size() - n_merged + 1) +
                                      " separate read-only ranges, past this guest's limit of " +
                                      std::to_string(max_runs) + " const ranges (--max-const-ranges)");
  if (n_merged == 0 && g_process_read_only_ranges.load() >= process_read_only_range_limit())
    return err("memory::protect", "the process holds " + std::to_string(g_process_read_only_ranges.load()) +
                                      " read-only ranges for all its guests, its limit (a quarter of "
                                      "vm.max_map_count); the const view is refused");
  const Status failed = set_writable(lo, hi, false);
  if (!failed) {
    // The kernel may have changed part of the range: reopen what no run
    // covers, so no page is read-only without the host knowing.
    uint64_t at = lo;
    bool restored = true;
    for (auto it = first; it != last; ++it) {
      if (it->first > at) restored &= set_writable(at, std::min(it->first, hi), true).is_ok();
      at = std::max(at, it->second.hi);
    }
    if (at < hi) restored &= set_writable(at, hi, true).is_ok();
    if (restored) return failed;
    // State unknown: recorded below as read-only for good (no view will own
    // it to release it), so the host never writes there.
  }
  const size_t runs_before = runs_.size();
  ProtectedRun merged;
  merged.hi = new_hi;
  for (auto it = first; it != last; ++it)
    for (const auto& [key, refs] : it->second.requests) merged.requests[key] += refs;
  ++merged.requests[{lo, hi}];
  runs_.erase(first, last);
  runs_[new_lo] = std::move(merged);
  count_runs(runs_before);
  if (!failed) return failed;
  return Protection::Protection_protected;
}

Status LinearMemory::unprotect(uint64_t offset, uint64_t n_bytes, uint32_t max_runs) {
  const uint64_t lo = offset, hi = offset + n_bytes;
  auto it = runs_.upper_bound(lo);
  if (it == runs_.begin()) return Status::ok();
  --it;
  ProtectedRun& run = it->second;
  auto req = run.requests.find({lo, hi});
  if (req == run.requests.end()) return Status::ok();  // never protected (not whole pages, file-mapped)
  if (--req->second > 0) return Status::ok();
  run.requests.erase(req);

  // What the remaining requests still cover, as disjoint non-touching segments.
  struct Segment {
    uint64_t lo, hi;
    std::map<std::pair<uint64_t, uint64_t>, uint32_t> requests;
  };
  std::vector<Segment> segments;
  for (const auto& [key, refs] : run.requests) {  // sorted by lo
    if (segments.empty() || key.first > segments.back().hi) segments.push_back({key.first, key.second, {}});
    segments.back().hi = std::max(segments.back().hi, key.second);
    segments.back().requests[key] = refs;
  }
  const uint64_t run_lo = it->first, run_hi = run.hi;
  // Splitting a run costs mappings: past the limit, the run stays whole and
  // its freed pages stay read-only until its last request goes.
  if (segments.size() > 1 && runs_.size() - 1 + segments.size() > max_runs) return Status::ok();
  // Reopen the gaps first; on failure nothing is recorded as writable.
  uint64_t at = run_lo;
  for (const Segment& seg : segments) {
    if (Status s = set_writable(at, seg.lo, true); !s) return s;
    at = seg.hi;
  }
  if (Status s = set_writable(at, run_hi, true); !s) return s;
  const size_t runs_before = runs_.size();
  runs_.erase(it);
  for (Segment& seg : segments) runs_[seg.lo] = ProtectedRun{seg.hi, std::move(seg.requests)};
  count_runs(runs_before);
  return Status::ok();
}

void LinearMemory::forget_runs() {
  const size_t runs_before = runs_.size();
  runs_.clear();
  count_runs(runs_before);
}

bool LinearMemory::is_writable(uint64_t offset, uint64_t n_bytes) const {
  if (offset > size_bytes() || n_bytes > size_bytes() - offset) return false;
  if (n_bytes == 0) return true;
  const uint64_t end = offset + n_bytes;
  // Runs are disjoint: only the last one starting before `end` can reach `offset`.
  auto it = runs_.lower_bound(end);
  if (it != runs_.begin() && std::prev(it)->second.hi > offset) return false;
  for (const FileMapping& m : file_mappings_)
    if (overlaps(m.guest_offset, m.guest_offset + m.n_mapped_bytes, offset, end)) return false;
  return true;
}

}  // namespace samepage
