// A whole file mapped read-only for host code to parse (a snapshot being
// restored): its bytes stay in the page cache, not in a host buffer that no
// guest is charged for.
//
// A file can shrink while it is mapped (truncated through another fd), and
// a read past its new end raises SIGBUS. The fault handler
// (engine/guarded_call.cpp, which must be installed first) asks
// absorb_lost_view_page(): the view then reads as zeros from the lost page
// to its end, is marked shrank(), and the read goes on. The owner checks
// shrank() after its last read and drops everything it built from the bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "samepage/status.h"

namespace samepage {

// Views that can be open at once in the process (one per restore in flight).
constexpr size_t kMaxFileViews = 64;

class FileView {
 public:
  // Maps the first n_bytes of the file open at fd (its size, as the caller
  // checked it); the fd stays the caller's and may be closed at once.
  // Errors are prefixed with `where`.
  static Result<FileView> map(int fd, uint64_t n_bytes, const char* where);

  FileView(FileView&& other) noexcept;
  FileView& operator=(FileView&&) = delete;
  FileView(const FileView&) = delete;
  ~FileView();

  const uint8_t* data() const { return data_; }  // nullptr for an empty file
  uint64_t size() const { return n_bytes_; }
  // True once a read found the file shorter than when it was mapped: the
  // bytes read since may be zeros that the file never held.
  bool shrank() const;

 private:
  FileView() = default;
  uint8_t* data_ = nullptr;
  uint64_t n_bytes_ = 0;         // the file's size when mapped
  uint64_t n_mapped_bytes_ = 0;  // rounded up to host pages
  int slot_ = -1;                // in the table the fault handler scans; -1: none (empty file)
};

// For the SIGBUS handler (async-signal-safe): true when host_address is in a
// live FileView, which then reads as zeros from that page on and says
// shrank(); the faulting access may be retried. False for any other address.
bool absorb_lost_view_page(const void* host_address);

}  // namespace samepage
