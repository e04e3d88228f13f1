// Milliseconds since a steady-clock instant, for load statistics.
#pragma once

#include <chrono>

namespace samepage {

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace samepage
