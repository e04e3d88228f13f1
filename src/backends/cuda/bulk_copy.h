// Hopper's bulk copies (the TMA engine copying a run of bytes from global
// to shared memory, cp.async.bulk) and the shared-memory barriers that say
// when they landed (mbarrier with a transaction count): a thread issues a
// copy of many KiB with one instruction, and the copy engine, not the
// threads' loads, keeps the bytes in flight. Used by the streamed GEMV
// (gemv_stream.cu). sm_90 and later: the host checks
// device_has_bulk_copy() before launching a kernel that uses these; on an
// older architecture they trap. Device code: included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace samepage::cuda {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define SP_BULK_COPY_ARCH 1
#else
#define SP_BULK_COPY_ARCH 0
#endif

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// A barrier that completes a phase once `arrivals` threads arrived (and
// every byte announced to it by arrive_expect_tx landed). One thread
// initialises; then fence_barrier_init and a __syncthreads before use.
__device__ __forceinline__ void barrier_init(uint64_t* bar, uint32_t arrivals) {
#if SP_BULK_COPY_ARCH
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(shared_address(bar)), "r"(arrivals) : "memory");
#else
  __trap();
#endif
}
// Makes the initialised barriers visible to the copy engine.
__device__ __forceinline__ void fence_barrier_init() {
#if SP_BULK_COPY_ARCH
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
#else
  __trap();
#endif
}
// One arrival, announcing that `bytes` more will land in this phase.
__device__ __forceinline__ void barrier_arrive_expect_bytes(uint64_t* bar, uint32_t bytes) {
#if SP_BULK_COPY_ARCH
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(bar)), "r"(bytes)
               : "memory");
#else
  __trap();
#endif
}
// One arrival (release: the arriving thread's reads of shared memory are
// done; a warp's other lanes' reads are ordered before it by a __syncwarp).
__device__ __forceinline__ void barrier_arrive(uint64_t* bar) {
#if SP_BULK_COPY_ARCH
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(shared_address(bar)) : "memory");
#else
  __trap();
#endif
}
// Waits until the phase of parity `parity` completed (acquire).
__device__ __forceinline__ void barrier_wait(uint64_t* bar, uint32_t parity) {
#if SP_BULK_COPY_ARCH
  const uint32_t at = shared_address(bar);
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}"
        : "=r"(done)
        : "r"(at), "r"(parity)
        : "memory");
  } while (!done);
#else
  __trap();
#endif
}
// bytes (a multiple of 16, both addresses 16-byte aligned) from global src
// to shared dst; they count toward bar's current phase.
__device__ __forceinline__ void bulk_copy_to_shared(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
#if SP_BULK_COPY_ARCH
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                   shared_address(dst)),
               "l"(src), "r"(bytes), "r"(shared_address(bar))
               : "memory");
#else
  __trap();
#endif
}

}  // namespace samepage::cuda

#undef SP_BULK_COPY_ARCH
