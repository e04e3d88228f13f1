#include "samepage/guest_account.h"

namespace samepage {
namespace {

// Adds n to used unless the sum would pass limit; lock-free, and a refused
// charge leaves no trace.
bool try_add(std::atomic<uint64_t>& used, uint64_t n, uint64_t limit) {
  uint64_t now = used.load(std::memory_order_relaxed);
  do {
    if (n > limit || now > limit - n) return false;
  } while (!used.compare_exchange_weak(now, now + n, std::memory_order_relaxed));
  return true;
}

std::string mib(uint64_t n_bytes) {
  return std::to_string(n_bytes >> 20) + (n_bytes % (1u << 20) ? "." + std::to_string((n_bytes % (1u << 20)) * 10 >> 20) : "") + " MiB";
}

}  // namespace

bool GuestAccount::charge_bytes(uint64_t n_bytes) { return try_add(used_bytes_, n_bytes, limits_.host_bytes); }

void GuestAccount::release_bytes(uint64_t n_bytes) { used_bytes_.fetch_sub(n_bytes, std::memory_order_relaxed); }

std::string GuestAccount::bytes_refusal(const std::string& what, uint64_t n_bytes) const {
  return what + ": " + std::to_string(n_bytes) + " bytes would pass this guest's host-memory limit of " +
         mib(limits_.host_bytes) + " (" + mib(used_bytes()) + " in use; raise it with --max-host-mb)";
}

bool GuestAccount::charge_table_elements(uint64_t n_elements) {
  return try_add(used_table_elements_, n_elements, limits_.table_elements);
}

void GuestAccount::release_table_elements(uint64_t n_elements) {
  used_table_elements_.fetch_sub(n_elements, std::memory_order_relaxed);
}

}  // namespace samepage
