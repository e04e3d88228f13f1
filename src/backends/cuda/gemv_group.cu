// Several batch-1 GEMVs of one x in one launch (gemv_group.h): the rows of
// every part are tasks of one grid, so the parts' weights stream as one
// matrix and the launch, ramp and drain are paid once. With silu the two
// parts are a gate and an up projection and a task is a row of each: the
// epilogue applies silu(gate) · up as the elementwise kernel does. With a
// rope (q/k/v, one row) a block's rows are pairs: its tasks' sums meet in
// shared memory, and each even row of q and k is roped with the odd one
// after it (rope_store_kernel's arithmetic), k and v stored to their caches.
#include <cuda_runtime.h>

#include <atomic>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/gemv_group.h"
#include "backends/cuda/gemv_layout.h"
#include "backends/cuda/gemv_plan.h"
#include "backends/cuda/gemv_rows.h"
#include "backends/cuda/rope_pair.h"

namespace samepage::cuda {
namespace {

constexpr int kWarps = 8;

struct GroupDevice {
  const uint8_t* w[kGemvGroupMaxParts];
  float* y[kGemvGroupMaxParts];
  int64_t n[kGemvGroupMaxParts];
  float* silu_out;
  bool write_gate, write_up;  // silu: the plain products too, unless silu_out is their bytes
  GroupRope rope;             // Epilogue::rope
  bool write_q, write_k;      // rope: the plain q and k products too, unless the roped ones are their bytes
  QuantizedX round_out;       // silu, 4 rows a task: the output rounded (GemvGroupArgs::round_out), or none
};

__device__ __forceinline__ float silu_times(float gate, float up) {
  return gate / (1.0f + expf(-gate)) * up;  // elementwise.cu's silu_mul
}

// What a task does with its sums: store them; silu(gate) · up; rope and cache stores.
enum class Epilogue { plain, silu, rope };

// A task: kTaskRows adjacent rows of a part (silu: of both parts), which a
// warp reads together (gemv_group_task_rows).
template <typename P, int kM, Epilogue kEpi, int kTaskRows>
__global__ void __launch_bounds__(kWarps * 32)
    gemv_group_kernel(GroupDevice g, size_t row_bytes, XIn x, int m, int64_t n_tasks, int64_t n_units,
                      int warps_per_row, bool prefetch, bool early_trigger) {
  constexpr bool kSilu = kEpi == Epilogue::silu, kRope = kEpi == Epilogue::rope;
  static_assert(!kRope || kTaskRows == 1, "a rope's tasks are single rows");
  constexpr int kRows = (kSilu ? 2 : 1) * kTaskRows;  // silu: the gate rows, then the up rows
  __shared__ float partial[kWarps][kRows][kGemvMaxRows];
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  const int64_t task = int64_t(blockIdx.x) * (kWarps / warps_per_row) + warp / warps_per_row;
  const int sub = warp % warps_per_row;
  const bool valid = task < n_tasks;
  // The task's part and row in it (silu: row `task` of both parts). The
  // part's pointers are picked with constant indices: indexing the kernel
  // parameter by a variable would copy it to local memory in every thread.
  int64_t j = valid ? kTaskRows * task : 0;  // the task's first row
  const uint8_t* w = g.w[0];
  float* y = g.y[0];
  int64_t n = g.n[0];
  int part = 0;
  if constexpr (!kSilu && kTaskRows == 1) {  // (more rows a task: one part)
    static_assert(kGemvGroupMaxParts == 3, "parts picked below");
    if (j >= g.n[0]) {
      j -= g.n[0];
      w = g.w[1], y = g.y[1], n = g.n[1], part = 1;
      if (j >= g.n[1]) j -= g.n[1], w = g.w[2], y = g.y[2], n = g.n[2], part = 2;
    }
  }
  // Rope: the pair's angle, before the wait (the position is a parameter
  // the graph's first node wrote, or a literal), by the thread that ropes.
  float cos_t = 1.0f, sin_t = 0.0f;
  int64_t pos = 0;
  const bool ropes = kRope && valid && part < 2 && (j & 1) == 0 && sub == 0 && lane == 0;
  if constexpr (kRope) {
    const GroupRope& r = g.rope;
    if (valid && sub == 0 && lane == 0) pos = r.pos_at != nullptr ? int64_t(*r.pos_at) : r.pos;  // the storing threads
    const RopeShape shape{0, r.head_dim, double(r.freq_base), double(r.freq_scale), 0, r.factors};
    if (ropes) rope_angle((j % r.head_dim) / 2, pos, shape, &cos_t, &sin_t);
  }
  const uint8_t* rows[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int64_t i = r % kTaskRows, row = j + i < n ? j + i : j;  // past the end: row j again, not stored
    rows[r] = (kSilu && r >= kTaskRows ? g.w[1] : w) + size_t(row) * row_bytes;
  }
  float acc[kRows][kM] = {};
  // One row: the lane's units in one batch (kGemvGroupLaneUnits); the silu
  // pair: two batches of half as many, the same loads in flight.
  constexpr int kBatch = kGemvGroupLaneUnits / kRows;
  rows_dot<P, kM, kRows, kBatch>(rows, valid, int64_t(sub) * 32 + lane, 32 * int64_t(warps_per_row), n_units, x, m,
                                 prefetch, early_trigger, acc);
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int i = 0; i < kM; ++i) {
      if (i >= m) break;
      const float v = warp_sum(acc[r][i]);
      if (lane == 0) partial[warp][r][i] = v;
    }
  __syncthreads();
  if constexpr (kRope) {  // m = 1: the block's task sums side by side, then each even q/k row ropes its pair
    __shared__ float task_sum[kWarps];
    const int t = warp / warps_per_row;
    if (valid && sub == 0 && lane == 0) {
      float total = 0.0f;
      for (int s = 0; s < warps_per_row; ++s) total += partial[warp + s][0][0];
      task_sum[t] = total;
    }
    __syncthreads();
    if (!valid || sub != 0 || lane != 0) return;
    const GroupRope& r = g.rope;
    const float a = task_sum[t];
    if (part == 2) {
      y[j] = a;
      store_float(r.v_cache_dtype, r.v_cache, pos * n + j, a);
      return;
    }
    if (part == 0 ? g.write_q : g.write_k) y[j] = a;
    if (!ropes) return;
    const float b = task_sum[t + 1];  // row j + 1: the same block (its tasks are an even count from an even start)
    const float ya = a * cos_t - b * sin_t, yb = a * sin_t + b * cos_t;
    float* out = part == 0 ? r.q_out : r.k_out;
    out[j] = ya;
    out[j + 1] = yb;
    if (part == 1) {
      store_float(r.k_cache_dtype, r.k_cache, pos * n + j, ya);
      store_float(r.k_cache_dtype, r.k_cache, pos * n + j + 1, yb);
    }
    return;
  }
  if constexpr (kSilu && kTaskRows == 4) {
    if (g.round_out.qs != nullptr) {  // one row of x, a warp a task: the CTA's 32 outputs are one 8-bit block
      __shared__ float block_out[kWarps * kTaskRows];
      static_assert(kWarps * kTaskRows == 32, "a CTA's silu rows are one quant block");
      if (lane == 0)
#pragma unroll
        for (int i = 0; i < kTaskRows; ++i)
          block_out[warp * kTaskRows + i] = valid ? silu_times(partial[warp][i][0], partial[warp][kTaskRows + i][0]) : 0.0f;
      __syncthreads();
      if (warp == 0) store_rounded_lane(block_out[lane], int64_t(blockIdx.x) * 32 + lane, g.round_out.qs, g.round_out.d);
    }
  }
  if (!valid || sub != 0 || lane >= m) return;
  float sum[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    sum[r] = 0.0f;
    for (int s = 0; s < warps_per_row; ++s) sum[r] += partial[warp + s][r][lane];
  }
#pragma unroll
  for (int i = 0; i < kTaskRows; ++i) {
    const int64_t at = lane * n + j + i;
    if (j + i >= n) break;
    if constexpr (kSilu) {
      const float gate = sum[i], up = sum[kTaskRows + i];
      if (g.write_gate) g.y[0][at] = gate;
      if (g.write_up) g.y[1][at] = up;
      g.silu_out[at] = silu_times(gate, up);
    } else {
      y[at] = sum[i];
    }
  }
}

// Whether a grid of `blocks` is one wave: every CTA resident at once
// (`resident`: the kernel's CTAs an SM, asked once). Only then does the
// kernel let the next one start before its own wait, right after its
// weight loads: the next kernel's CTAs (a norm, then the next product,
// prefetching its weights) take only slots this grid leaves free. With
// more waves they would take slots its later waves need (Session 23: the
// 1B BF16 decode, whose products are two waves, 0.7% slower; Q4_0, one
// wave, 1% faster; back-to-back q4_0 8192 x 2048 products 4.18 against
// 5.39 us. Session 24, this rule on an H100: q4_0 8192 x 2048 4.89
// against 6.26 us, q8_0 7.65 against 8.85; decode unchanged).
template <typename Kernel>
bool one_wave(Kernel kernel, std::atomic<int>& resident, unsigned blocks) {
  if (resident.load(std::memory_order_relaxed) == 0) {
    int per_sm = 0;
    if (query_resident_blocks(kernel, kWarps * 32, 0, &per_sm)) resident.store(per_sm, std::memory_order_relaxed);
  }
  const int per_sm = resident.load(std::memory_order_relaxed);
  return per_sm > 0 && int64_t(blocks) <= int64_t(per_sm) * device_sm_count();
}

template <typename P, Epilogue kEpi, int kTaskRows>
cudaError_t launch_group(const LaunchStream& s, const GroupDevice& g, const GemvGroupArgs& a, const XIn& x,
                         int64_t n_rows) {
  const int64_t n_tasks = (n_rows + kTaskRows - 1) / kTaskRows;
  const int64_t n_units = a.k / P::kElems;
  const int wpr = gemv_group_warps_per_row(n_units);
  const int64_t tasks_per_block = kWarps / wpr;
  const unsigned blocks = unsigned((n_tasks + tasks_per_block - 1) / tasks_per_block);
  const size_t row_bytes = a.packed ? size_t(gemv_layout_row_bytes(a.dtype, a.k)) : dtype_row_bytes(a.dtype, a.k);
  if (a.m == 1) {
    auto* kernel = gemv_group_kernel<P, 1, kEpi, kTaskRows>;
    static std::atomic<int> resident{0};
    return launch_kernel(s, blocks, kWarps * 32, 0, kernel, g, row_bytes, x, 1, n_tasks, n_units, wpr, a.w_const,
                         a.w_const && one_wave(kernel, resident, blocks));
  }
  if constexpr (kEpi == Epilogue::rope) {
    return cudaErrorInvalidValue;  // one row only (launch_gemv_group)
  } else {
    auto* kernel = gemv_group_kernel<P, int(kGemvMaxRows), kEpi, kTaskRows>;
    static std::atomic<int> resident{0};
    return launch_kernel(s, blocks, kWarps * 32, 0, kernel, g, row_bytes, x, int(a.m), n_tasks, n_units, wpr,
                         a.w_const, a.w_const && one_wave(kernel, resident, blocks));
  }
}

// n_rows: the rows of every part (silu: of one). More rows a task for the
// GEMV layout only (launch_gemv_group checks which).
template <typename P>
cudaError_t launch_policy(const LaunchStream& s, const GroupDevice& g, const GemvGroupArgs& a, const XIn& x,
                          int64_t n_rows) {
  constexpr bool kPacked = P::kElems == 32;
  if (a.silu_out != nullptr) {
    if constexpr (kPacked) {
      if (a.rows_per_task == 2) return launch_group<P, Epilogue::silu, 2>(s, g, a, x, n_rows);
      if (a.rows_per_task == 4) return launch_group<P, Epilogue::silu, 4>(s, g, a, x, n_rows);
    }
    return launch_group<P, Epilogue::silu, 1>(s, g, a, x, n_rows);
  }
  if (a.rope != nullptr) return launch_group<P, Epilogue::rope, 1>(s, g, a, x, n_rows);
  if constexpr (kPacked)
    if (a.rows_per_task == 4) return launch_group<P, Epilogue::plain, 4>(s, g, a, x, n_rows);
  return launch_group<P, Epilogue::plain, 1>(s, g, a, x, n_rows);
}

}  // namespace

bool gemv_group_fits(DType dt, int64_t m, int64_t k, const void* const* w, int n_parts, const float* x) {
  if (m < 1 || m > kGemvMaxRows || k <= 0 || n_parts < 1 || n_parts > kGemvGroupMaxParts) return false;
  if (!dtype_is_weight(dt)) return false;
  const int64_t elems = dtype_is_quantized(dt) ? 32 : dt == DType_f32 ? 4 : 8;  // a unit's, and a quant block's
  if (k % elems != 0) return false;
  if (dtype_is_quantized(dt)) return true;  // 2-byte loads: any block start
  // Float rows are read as 16-byte vectors: W rows and x aligned.
  if (dtype_row_bytes(dt, k) % 16 != 0 || reinterpret_cast<uintptr_t>(x) % 16 != 0) return false;
  for (int i = 0; i < n_parts; ++i)
    if (reinterpret_cast<uintptr_t>(w[i]) % 16 != 0) return false;
  return true;
}

bool gemv_group_rounds_silu(const GemvGroupArgs& a) {
  return a.silu_out != nullptr && a.packed && a.rows_per_task == 4 && a.m == 1 && a.n[0] % 32 == 0 &&
         gemv_group_warps_per_row(a.k / 32) == 1;
}

bool gemv_group_ropes(const GemvGroupArgs& a) {
  if (a.rope == nullptr || a.silu_out != nullptr || a.n_parts != 3 || a.m != 1) return false;
  const int64_t hd = a.rope->head_dim;
  if (hd <= 0 || hd % 2 != 0 || a.n[0] % hd != 0 || a.n[1] % hd != 0) return false;
  // A task's pair partner is the next task of its block.
  const int64_t elems = a.packed ? 32 : a.dtype == DType_f32 ? 4 : 8;  // the policies' kElems
  return (kWarps / gemv_group_warps_per_row(a.k / elems)) % 2 == 0;
}

Status launch_gemv_group(const LaunchStream& s, const GemvGroupArgs& a) {
  const bool silu = a.silu_out != nullptr;
  if (silu && (a.n_parts != 2 || a.n[0] != a.n[1])) return err("cuda::gemv_group", "silu takes two parts of one size");
  if (!gemv_group_fits(a.dtype, a.m, a.k, a.w, a.n_parts, a.x))
    return err("cuda::gemv_group", "these products cannot be grouped");
  if (dtype_is_quantized(a.dtype) && (a.xq.qs == nullptr || a.xq.d == nullptr))
    return err("cuda::gemv_group", "quant weights without quantized activations");
  const bool task_rows_ok = a.rows_per_task == 1 || (a.packed && silu && (a.rows_per_task == 2 || a.rows_per_task == 4)) ||
                            (a.packed && !silu && a.rope == nullptr && a.n_parts == 1 && a.rows_per_task == 4);
  if (!task_rows_ok)
    return err("cuda::gemv_group", "rows a task: 2 or 4 for a silu pair or 4 for one plain part, on the GEMV layout");
  if (a.round_out.qs != nullptr && !gemv_group_rounds_silu(a))
    return err("cuda::gemv_group", "rounding the output takes a silu pair of one row, 4 rows a task, a warp a row");
  if (a.rope != nullptr && !gemv_group_ropes(a))
    return err("cuda::gemv_group", "a rope takes q, k, v of one row, whole heads, rows in pairs of one block");
  GroupDevice g{};
  int64_t n_rows = 0;
  for (int i = 0; i < a.n_parts; ++i) {
    g.w[i] = static_cast<const uint8_t*>(a.w[i]);
    g.y[i] = a.y[i];
    g.n[i] = a.n[i];
    n_rows += a.n[i];
  }
  if (silu) {
    n_rows = a.n[0];
    g.silu_out = a.silu_out;
    g.write_gate = a.y[0] != a.silu_out;
    g.write_up = a.y[1] != a.silu_out;
  }
  if (a.rope != nullptr) {
    g.rope = *a.rope;
    g.write_q = a.y[0] != a.rope->q_out;
    g.write_k = a.y[1] != a.rope->k_out;
  }
  g.round_out = a.round_out;
  if (n_rows <= 0) return Status::ok();
  if (n_rows > int64_t(INT32_MAX)) return err("cuda::gemv_group", "too many output columns");
  const XIn x{a.x, a.xq.qs, a.xq.d, a.k};
  cudaError_t e = cudaErrorInvalidValue;
  if (a.packed) {
    if (!gemv_layout_applies(a.dtype, a.k)) return err("cuda::gemv_group", "no GEMV layout for these weights");
    switch (a.dtype) {
      case DType_q8_0: e = launch_policy<PackedQ<DType_q8_0>>(s, g, a, x, n_rows); break;
      case DType_q4_0: e = launch_policy<PackedQ<DType_q4_0>>(s, g, a, x, n_rows); break;
      default: e = launch_policy<PackedQ<DType_q4_1>>(s, g, a, x, n_rows); break;
    }
    return cuda_status(e, "cuda::gemv_group", "launch");
  }
  switch (a.dtype) {
    case DType_f32: e = launch_policy<F32Vec>(s, g, a, x, n_rows); break;
    case DType_f16: e = launch_policy<Half8<false>>(s, g, a, x, n_rows); break;
    case DType_bf16: e = launch_policy<Half8<true>>(s, g, a, x, n_rows); break;
    case DType_q8_0: e = launch_policy<Q8_0>(s, g, a, x, n_rows); break;
    case DType_q4_0: e = launch_policy<Q4<false>>(s, g, a, x, n_rows); break;
    case DType_q4_1: e = launch_policy<Q4<true>>(s, g, a, x, n_rows); break;
    default: return err("cuda::gemv_group", std::string("unsupported weight dtype ") + dtype_name(a.dtype));
  }
  return cuda_status(e, "cuda::gemv_group", "launch");
}

}  // namespace samepage::cuda
