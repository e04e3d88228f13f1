// One guest's account of what it has made the host spend, against its
// GuestLimits: host bytes (runtime tensors, staging, recordings, tables, WASI
// scratch) and table elements. Every host allocation made on a guest's behalf
// is charged here first and released when freed, so a refusal comes before
// the allocation, never after the host ran out.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "samepage/limits.h"

namespace samepage {

class GuestAccount {
 public:
  explicit GuestAccount(const GuestLimits& limits = {}) : limits_(limits) {}
  GuestAccount(const GuestAccount&) = delete;
  GuestAccount& operator=(const GuestAccount&) = delete;

  const GuestLimits& limits() const { return limits_; }

  // Charges n_bytes, or charges nothing and returns false when that would
  // pass limits().host_bytes.
  [[nodiscard]] bool charge_bytes(uint64_t n_bytes);
  void release_bytes(uint64_t n_bytes);
  uint64_t used_bytes() const { return used_bytes_.load(std::memory_order_relaxed); }
  // "WHAT: N bytes would pass this guest's host-memory limit of M MiB
  // (U in use; raise it with --max-host-mb)".
  std::string bytes_refusal(const std::string& what, uint64_t n_bytes) const;

  // Table elements across the guest's tables, against limits().table_elements.
  [[nodiscard]] bool charge_table_elements(uint64_t n_elements);
  void release_table_elements(uint64_t n_elements);
  uint64_t used_table_elements() const { return used_table_elements_.load(std::memory_order_relaxed); }

 private:
  GuestLimits limits_;
  std::atomic<uint64_t> used_bytes_{0};
  std::atomic<uint64_t> used_table_elements_{0};
};

// Bytes charged for as long as it lives: scratch buffers sized by a guest count.
class BytesCharge {
 public:
  BytesCharge() = default;
  // Charges n_bytes to account; ok() says whether the charge was accepted.
  BytesCharge(GuestAccount* account, uint64_t n_bytes)
      : account_(account), n_bytes_(n_bytes), ok_(account == nullptr || account->charge_bytes(n_bytes)) {
    if (!ok_) account_ = nullptr;
  }
  ~BytesCharge() { reset(); }
  BytesCharge(BytesCharge&& o) noexcept : account_(o.account_), n_bytes_(o.n_bytes_), ok_(o.ok_) { o.account_ = nullptr; }
  BytesCharge& operator=(BytesCharge&& o) noexcept {
    if (this != &o) {
      reset();
      account_ = o.account_;
      n_bytes_ = o.n_bytes_;
      ok_ = o.ok_;
      o.account_ = nullptr;
    }
    return *this;
  }
  bool ok() const { return ok_; }
  uint64_t n_bytes() const { return account_ != nullptr ? n_bytes_ : 0; }
  // Charges n_bytes more to the same account; false (nothing more charged) past the limit.
  [[nodiscard]] bool add(uint64_t more) {
    if (account_ == nullptr) return true;
    if (!account_->charge_bytes(more)) return false;
    n_bytes_ += more;
    return true;
  }
  void reset() {
    if (account_ != nullptr) account_->release_bytes(n_bytes_);
    account_ = nullptr;
  }

 private:
  GuestAccount* account_ = nullptr;
  uint64_t n_bytes_ = 0;
  bool ok_ = true;
};

}  // namespace samepage
