// ISA probing and CpuContext.
#include "backends/cpu/context.h"

#include <algorithm>
#include <cstdlib>

namespace samepage::cpu {

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa_scalar: return "scalar";
    case CpuIsa_avx2: return "avx2";
    case CpuIsa_avx512: return "avx512";
    default: return "?";
  }
}

bool cpu_isa_supported(CpuIsa isa) {
  switch (isa) {
    case CpuIsa_scalar:
      return true;
#if defined(__x86_64__)
    // __builtin_cpu_supports also reflects OS support for the wider registers
    // (XSAVE state enabled), not only the CPUID bits.
    case CpuIsa_avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    case CpuIsa_avx512:
      // VNNI is what makes the quantized dot products worth a separate path;
      // AVX-512 parts without it (Skylake-X) use the AVX2 path.
      return cpu_isa_supported(CpuIsa_avx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512vnni");
#endif
    default:
      return false;
  }
}

CpuIsa cpu_isa_best() {
  if (cpu_isa_supported(CpuIsa_avx512)) return CpuIsa_avx512;
  if (cpu_isa_supported(CpuIsa_avx2)) return CpuIsa_avx2;
  return CpuIsa_scalar;
}

CpuContext::CpuContext(int n_threads) : CpuContext(n_threads, cpu_isa_best()) {}

CpuContext::CpuContext(int n_threads, CpuIsa isa)
    : pool_(n_threads), isa_(cpu_isa_supported(isa) ? isa : CpuIsa_scalar) {}

bool CpuContext::set_isa(CpuIsa isa) {
  if (!cpu_isa_supported(isa)) return false;
  isa_ = isa;
  return true;
}

void CpuContext::FreeAligned::operator()(void* p) const { std::free(p); }

void* CpuContext::scratch(size_t n_bytes) {
  if (n_bytes > scratch_bytes_) {
    // Grow geometrically so a prefill followed by decode does not reallocate.
    size_t n_new = std::max(n_bytes, scratch_bytes_ * 2);
    n_new = (n_new + 63) / 64 * 64;
    scratch_.reset(std::aligned_alloc(64, n_new));
    scratch_bytes_ = scratch_ ? n_new : 0;
  }
  return scratch_.get();
}

}  // namespace samepage::cpu
