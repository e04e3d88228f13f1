// CPU backend: instruction-set selection and the per-backend context that the
// kernels receive (thread pool, chosen ISA, scratch memory). Nothing here is
// global: every op that threads or vectorizes takes a CpuContext.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "backends/cpu/thread_pool.h"

namespace samepage::cpu {

enum CpuIsa : int {
  CpuIsa_scalar = 0,  // portable C++, the reference path
  CpuIsa_avx2,        // AVX2 + FMA + F16C
  CpuIsa_avx512,      // AVX-512 F/BW/VL/VNNI + F16C (Ice Lake, Zen 4 and later)
  CpuIsa_count,
};

const char* cpu_isa_name(CpuIsa isa);
// Whether this CPU (and OS) can run the variant; probed with __builtin_cpu_supports.
bool cpu_isa_supported(CpuIsa isa);
// The fastest supported variant.
CpuIsa cpu_isa_best();

class CpuContext {
 public:
  // n_threads <= 0: default_thread_count(). isa defaults to the best supported.
  explicit CpuContext(int n_threads = 0);
  CpuContext(int n_threads, CpuIsa isa);

  ThreadPool& pool() { return pool_; }
  int n_threads() const { return pool_.n_threads(); }
  CpuIsa isa() const { return isa_; }
  // Forces a variant (tests, benchmarks); false, and no change, when unsupported.
  bool set_isa(CpuIsa isa);
  // Whether large float products may go to OpenBLAS (blas.h). Off, the
  // hand-written kernels do all the work: tests and benchmarks compare both.
  bool use_blas() const { return use_blas_; }
  void set_use_blas(bool use) { use_blas_ = use; }

  // Scratch of at least n_bytes, 64-byte aligned, reused across calls. A
  // context serves one caller at a time, so ops may hold it for one call.
  void* scratch(size_t n_bytes);

 private:
  ThreadPool pool_;
  CpuIsa isa_;
  bool use_blas_ = true;
  struct FreeAligned {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, FreeAligned> scratch_;
  size_t scratch_bytes_ = 0;
};

}  // namespace samepage::cpu
