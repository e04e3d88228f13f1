// Read-only guest pages: const tensors (protect) and file mappings. Host code
// asks is_writable before writing guest memory.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "samepage/linear_memory.h"

namespace samepage {
namespace {


bool overlaps(uint64_t a_lo, uint64_t a_hi, uint64_t b_lo, uint64_t b_hi) { return a_lo < b_hi && b_lo < a_hi; }

}  // namespace

void LinearMemory::protect(uint64_t offset, uint64_t n_bytes) {
  const uint64_t page = host_page_bytes();
  if (offset > size_bytes() || n_bytes > size_bytes() - offset) return;
  const uint64_t lo = (offset + page - 1) / page * page;  // whole pages only: neighbours stay writable
  const uint64_t hi = (offset + n_bytes) / page * page;
  if (hi <= lo) return;
  // File-mapped pages are read-only already, and unprotect must never try to
  // make them writable (mprotect would refuse and leave the range half-done).
  for (const FileMapping& m : file_mappings_)
    if (overlaps(m.guest_offset, m.guest_offset + m.n_mapped_bytes, lo, hi)) return;
  protected_.push_back(PageRange{lo, hi});
  mprotect(base_ + lo, hi - lo, PROT_READ);
}

void LinearMemory::unprotect(uint64_t offset, uint64_t n_bytes) {
  const uint64_t page = host_page_bytes();
  const uint64_t lo = (offset + page - 1) / page * page;
  const uint64_t hi = (offset + n_bytes) / page * page;
  auto it = std::find_if(protected_.begin(), protected_.end(),
                         [&](const PageRange& r) { return r.lo == lo && r.hi == hi; });
  if (it == protected_.end()) return;
  protected_.erase(it);
  // Reopen the pages, then close again what other protections still cover.
  mprotect(base_ + lo, hi - lo, PROT_READ | PROT_WRITE);
  for (const PageRange& r : protected_)
    if (overlaps(r.lo, r.hi, lo, hi)) mprotect(base_ + std::max(r.lo, lo), std::min(r.hi, hi) - std::max(r.lo, lo), PROT_READ);
}

bool LinearMemory::is_writable(uint64_t offset, uint64_t n_bytes) const {
  if (offset > size_bytes() || n_bytes > size_bytes() - offset) return false;
  if (n_bytes == 0) return true;
  const uint64_t end = offset + n_bytes;
  for (const PageRange& r : protected_)
    if (overlaps(r.lo, r.hi, offset, end)) return false;
  for (const FileMapping& m : file_mappings_)
    if (overlaps(m.guest_offset, m.guest_offset + m.n_mapped_bytes, offset, end)) return false;
  return true;
}

}  // namespace samepage
