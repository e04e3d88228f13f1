// The kernel mappings that guests' read-only ranges cost, counted for the
// whole process: protected runs and file mappings split the reservation's
// mapping, and vm.max_map_count bounds them for every guest together.
#pragma once

#include <atomic>
#include <cstdint>

namespace samepage {

// Read-only ranges (protected runs and file mappings) of every guest now.
extern std::atomic<uint64_t> g_process_read_only_ranges;
// A quarter of vm.max_map_count, leaving the rest to reservations, libraries and the heap.
uint64_t process_read_only_range_limit();

}  // namespace samepage
