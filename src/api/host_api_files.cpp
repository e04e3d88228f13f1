// Model files mapped into guest memory (DESIGN.md §3, file-mapped): the
// guest names a file it opened through WASI, so model access stays
// capability-checked, and the bytes arrive with no copy.
#include "api/host_api.h"
#include "guest_call/guest_context.h"
#include "samepage/linear_memory.h"

namespace samepage {

int32_t HostApi::map_file(int32_t fd, uint64_t file_offset, uint32_t n_bytes, uint32_t guest_ptr) {
  if (memory_ == nullptr) return fail(SP_ERR_STATE, "map_file: this guest has no memory");
  const uint64_t page = host_page_bytes();
  if (fd < 0) return fail(SP_ERR_ARG, "map_file: fd " + std::to_string(fd) + " is not an fd");
  if (n_bytes == 0) return fail(SP_ERR_ARG, "map_file: nothing to map (n_bytes is 0)");
  if (guest_ptr % page != 0 || file_offset % page != 0)
    return fail(SP_ERR_ARG, "map_file: the guest address (" + std::to_string(guest_ptr) + ") and the file offset (" +
                                std::to_string(file_offset) + ") must be multiples of the host page, " +
                                std::to_string(page) + " bytes");
  if (file_offset > (uint64_t{1} << 62)) return fail(SP_ERR_ARG, "map_file: file offset is past 2^62");
  const uint64_t n_mapped = (uint64_t{n_bytes} + page - 1) / page * page;
  if (guest_ptr > memory_->size_bytes() || n_mapped > memory_->size_bytes() - guest_ptr)
    return fail(SP_ERR_RANGE, "map_file: [" + std::to_string(guest_ptr) + ", +" + std::to_string(n_mapped) +
                                  ") is outside guest memory of " + std::to_string(memory_->size_bytes()) + " bytes");
  if (overlaps_unprotected_const(guest_ptr, n_mapped))
    return fail(SP_ERR_ARG, "map_file: the range overlaps a const tensor (SP_CONST)");
  // Each mapping is a kernel mapping of its own, like a protected run: the
  // guest's const-range limit bounds both, so no guest spends the process's
  // map count (vm.max_map_count).
  const uint32_t max_mappings = account_->limits().const_ranges;
  if (memory_->file_mappings().size() + memory_->protected_runs() >= max_mappings)
    return fail(SP_ERR_NO_MEMORY, "map_file: " + std::to_string(memory_->file_mappings().size()) + " mappings and " +
                                      std::to_string(memory_->protected_runs()) +
                                      " read-only ranges reach this guest's limit of " + std::to_string(max_mappings) +
                                      " (--max-const-ranges)");
  if (!context_->readable_file) return fail(SP_ERR_UNSUPPORTED, "map_file: this guest has no files");
  Result<int> host_fd = context_->readable_file(static_cast<uint32_t>(fd));
  if (!host_fd) return fail(SP_ERR_ARG, "map_file: " + host_fd.message());
  FileOrigin origin;  // stays empty when unknown: a snapshot then refuses this mapping, naming it
  if (context_->file_origin) context_->file_origin(static_cast<uint32_t>(fd), &origin.preopen, &origin.path);
  if (Status s = memory_->map_file(guest_ptr, *host_fd, file_offset, n_bytes, "guest fd " + std::to_string(fd),
                                   std::move(origin));
      !s)
    return fail(SP_ERR_ARG, "map_file: " + s.message());
  ++protection_epoch_;  // these pages are read-only now
  return SP_OK;
}

int32_t HostApi::unmap_file(uint32_t guest_ptr, uint32_t n_bytes) {
  if (memory_ == nullptr) return fail(SP_ERR_STATE, "unmap_file: this guest has no memory");
  for (const FileMapping& m : memory_->file_mappings()) {
    if (m.guest_offset != guest_ptr) continue;
    if (m.n_bytes != n_bytes)
      return fail(SP_ERR_ARG, "unmap_file: the mapping at " + std::to_string(guest_ptr) + " is " +
                                  std::to_string(m.n_bytes) + " bytes, not " + std::to_string(n_bytes));
    // A view's bytes stay the file's while it lives: a backend may share its
    // device copy with other guests that map the file (and writable pages
    // under a file-backed view would let it diverge from that copy).
    uint32_t n_views = 0;
    tensors_.for_each([&](const Tensor& t) {
      n_views += t.is_view && t.guest_offset < m.guest_offset + m.n_mapped_bytes &&
                 m.guest_offset < t.guest_offset + t.n_bytes;
    });
    if (n_views > 0)
      return fail(SP_ERR_ARG, "unmap_file: " + std::to_string(n_views) +
                                  " tensor view(s) over the mapping are alive: free them first");
    if (Status s = memory_->unmap_file(guest_ptr); !s) return fail(SP_ERR_BACKEND, "unmap_file: " + s.message());
    return SP_OK;
  }
  return fail(SP_ERR_ARG, "unmap_file: no file is mapped at " + std::to_string(guest_ptr));
}

}  // namespace samepage
