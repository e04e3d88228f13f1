#include "backends/cuda/fusion_plan.h"

#include <cstdint>

namespace samepage::cuda {
namespace {

bool same_tensor(const TensorArg& a, const TensorArg& b) {
  return a.id == b.id && a.n_elements() == b.n_elements() && a.dtype == b.dtype;
}

// The position an op runs at: a replay parameter's slot, or a literal.
struct Position {
  int32_t slot;
  int32_t value;
  bool operator==(const Position& o) const { return slot >= 0 ? slot == o.slot : o.slot < 0 && value == o.value; }
};
Position position_of(const SequenceOp& op) { return {op.param_slot[0], op.args.i[0]}; }

// add(A = X + B), rmsnorm(N = A · w): B a full tensor (no broadcast row),
// the norm's rows exactly A's.
bool is_add_rmsnorm(const SequenceOp& add, const SequenceOp& norm) {
  const OpArgs& a = add.args;
  const OpArgs& n = norm.args;
  if (a.op != OpCode_add || n.op != OpCode_rmsnorm) return false;
  if (a.t[2].n_elements() != a.t[0].n_elements()) return false;
  return same_tensor(n.t[1], a.t[0]) && n.t[1].row_length() == a.t[0].row_length() &&
         n.t[0].n_elements() == n.t[1].n_elements() && n.t[2].n_elements() == n.t[1].row_length();
}

bool same_rope(const OpArgs& a, const OpArgs& b) {
  return a.f[0] == b.f[0] && a.f[1] == b.f[1] && a.i[1] == b.i[1] && a.t[1].shape[2] == b.t[1].shape[2] &&
         a.t[2].id == b.t[2].id && (a.t[2].data == nullptr) == (b.t[2].data == nullptr);
}

// rope(YQ ← XQ), rope(YK ← XK), set_rows(KC ← YK), set_rows(VC ← V), all at
// one position; V is none of the roped tensors, the caches none of the others.
// The fused kernel reads f32 rows: an f16/bf16 set_rows source (a restore) runs alone.
bool is_rope_store(const SequenceOp* op) {
  const OpArgs &rq = op[0].args, &rk = op[1].args, &sk = op[2].args, &sv = op[3].args;
  if (rq.op != OpCode_rope || rk.op != OpCode_rope || sk.op != OpCode_set_rows || sv.op != OpCode_set_rows) return false;
  if (sk.t[1].dtype != DType_f32 || sv.t[1].dtype != DType_f32) return false;
  if (!same_rope(rq, rk)) return false;
  const Position p = position_of(op[0]);
  if (!(position_of(op[1]) == p) || !(position_of(op[2]) == p) || !(position_of(op[3]) == p)) return false;
  if (op[0].param_slot[1] >= 0 || op[1].param_slot[1] >= 0) return false;  // the mode is not a parameter
  if (!same_tensor(sk.t[1], rk.t[0]) || sk.t[1].shape[0] != rk.t[1].shape[0]) return false;
  // One kernel ropes q and k with no order between their threads: k may not
  // read what the q rope writes, write what it reads, or write where it does.
  if (rk.t[1].id == rq.t[0].id || rk.t[0].id == rq.t[0].id || rk.t[0].id == rq.t[1].id) return false;
  const uint64_t roped[] = {rq.t[0].id, rq.t[1].id, rk.t[0].id, rk.t[1].id};
  for (uint64_t id : roped)
    if (sv.t[1].id == id || sk.t[0].id == id || sv.t[0].id == id) return false;
  if (sk.t[0].id == sv.t[0].id || sk.t[0].id == sv.t[1].id || sv.t[0].id == sv.t[1].id) return false;
  if (sv.t[1].shape[0] != sk.t[1].shape[0]) return false;  // both caches take the same tokens
  return true;
}

// matmul(Y = X · W) with X of at most kFusedGemvMaxRows rows, the same X
// (and weight dtype and k) as first's, its output none of X, W, or first's
// operands.
bool is_batch1_matmul(const SequenceOp& op) {
  const OpArgs& a = op.args;
  return a.op == OpCode_matmul && a.t[1].n_rows() >= 1 && a.t[1].n_rows() <= kFusedGemvMaxRows;
}
bool shares_x(const SequenceOp& first, const SequenceOp& op) {
  if (!is_batch1_matmul(first) || !is_batch1_matmul(op)) return false;
  const OpArgs &a = first.args, &b = op.args;
  if (!same_tensor(a.t[1], b.t[1]) || a.t[2].dtype != b.t[2].dtype || a.t[2].row_length() != b.t[2].row_length())
    return false;
  const uint64_t y = b.t[0].id;
  return y != b.t[1].id && y != b.t[2].id && y != a.t[0].id && y != a.t[2].id && a.t[0].id != b.t[2].id;
}

// How many ops from op[0] (of at most n) one gemv_group launch takes.
size_t gemv_group_length(const SequenceOp* op, size_t n) {
  if (n < 2 || !is_batch1_matmul(op[0]) || op[0].args.t[0].id == op[0].args.t[1].id ||
      op[0].args.t[0].id == op[0].args.t[2].id)
    return 0;
  size_t len = 1;
  while (len < n && len < 3 && shares_x(op[0], op[len])) {
    bool distinct = true;  // no earlier part's output, or weight, is this one's output
    for (size_t i = 1; i < len; ++i)
      distinct = distinct && op[len].args.t[0].id != op[i].args.t[0].id && op[len].args.t[0].id != op[i].args.t[2].id &&
                 op[i].args.t[0].id != op[len].args.t[2].id;
    if (!distinct) break;
    ++len;
  }
  return len >= 2 ? len : 0;
}

// matmul(G ← X·Wg), matmul(U ← X·Wu), silu_mul(D ← G, U): Wg and Wu of one
// shape, D with G's shape (D may be G or U themselves).
bool is_gemv_silu(const SequenceOp* op) {
  if (gemv_group_length(op, 2) != 2) return false;
  const OpArgs &g = op[0].args, &u = op[1].args, &s = op[2].args;
  if (s.op != OpCode_silu_mul || g.t[2].n_rows() != u.t[2].n_rows()) return false;
  if (!same_tensor(s.t[1], g.t[0]) || !same_tensor(s.t[2], u.t[0])) return false;
  if (s.t[0].n_elements() != g.t[0].n_elements() || s.t[0].dtype != DType_f32) return false;
  const uint64_t d = s.t[0].id;  // the product: G, U, or a tensor none of the others
  return d == g.t[0].id || d == u.t[0].id ||
         (d != g.t[1].id && d != g.t[2].id && d != u.t[2].id);
}

// A q/k/v group of one row (op[0..2]) and rope_store on its products
// (op[3..6]): mode 0, whole heads, cache rows the products' widths, and no
// roped output or cache over x or a weight (the kernel writes them while
// other blocks still read those).
bool is_gemv_rope_store(const SequenceOp* op) {
  if (gemv_group_length(op, 3) != 3 || !is_rope_store(op + 3)) return false;
  const OpArgs &q = op[0].args, &k = op[1].args, &v = op[2].args;
  const OpArgs &rq = op[3].args, &rk = op[4].args, &sk = op[5].args, &sv = op[6].args;
  if (q.t[1].n_rows() != 1 || rq.i[1] != 0 || rq.t[1].shape[0] != 1 || rk.t[1].shape[0] != 1) return false;
  if (rq.t[1].id != q.t[0].id || rq.t[1].n_elements() != q.t[0].n_elements()) return false;
  if (rk.t[1].id != k.t[0].id || rk.t[1].n_elements() != k.t[0].n_elements()) return false;
  if (sv.t[1].id != v.t[0].id || sv.t[1].n_elements() != v.t[0].n_elements()) return false;
  if (sk.t[0].n_elements() / sk.t[0].shape[0] != k.t[0].n_elements()) return false;
  if (sv.t[0].n_elements() / sv.t[0].shape[0] != v.t[0].n_elements()) return false;
  const uint64_t read[] = {q.t[1].id, q.t[2].id, k.t[2].id, v.t[2].id, rq.t[2].id};
  const uint64_t written[] = {rq.t[0].id, rk.t[0].id, sk.t[0].id, sv.t[0].id};
  for (uint64_t w : written)
    for (uint64_t r : read)
      if (w == r) return false;
  return true;
}

}  // namespace

std::vector<PlannedStep> plan_fusion(const std::vector<SequenceOp>& ops) {
  std::vector<PlannedStep> steps;
  for (size_t k = 0; k < ops.size();) {
    if (k + 7 <= ops.size() && is_gemv_rope_store(&ops[k])) {
      steps.push_back({FusedKind::gemv_rope_store, k, 7});
      k += 7;
    } else if (k + 4 <= ops.size() && is_rope_store(&ops[k])) {
      steps.push_back({FusedKind::rope_store, k, 4});
      k += 4;
    } else if (k + 3 <= ops.size() && is_gemv_silu(&ops[k])) {
      steps.push_back({FusedKind::gemv_silu, k, 3});
      k += 3;
    } else if (const size_t n = gemv_group_length(&ops[k], ops.size() - k); n >= 2) {
      steps.push_back({FusedKind::gemv_group, k, n});
      k += n;
    } else if (k + 2 <= ops.size() && is_add_rmsnorm(ops[k], ops[k + 1])) {
      steps.push_back({FusedKind::add_rmsnorm, k, 2});
      k += 2;
    } else {
      steps.push_back({FusedKind::single, k, 1});
      k += 1;
    }
  }
  return steps;
}

bool fusable_ranges(const std::vector<ByteRange>& ranges) {
  for (size_t i = 0; i < ranges.size(); ++i)
    for (size_t j = i + 1; j < ranges.size(); ++j) {
      const auto a = reinterpret_cast<uintptr_t>(ranges[i].at), b = reinterpret_cast<uintptr_t>(ranges[j].at);
      if (a == b && ranges[i].n_bytes == ranges[j].n_bytes) continue;
      if (a + ranges[i].n_bytes <= b || b + ranges[j].n_bytes <= a) continue;
      return false;
    }
  return true;
}

}  // namespace samepage::cuda
