// Shape and dtype rules of every op. Everything a kernel will index is
// derived from shapes checked here, so a kernel never leaves its operands.
#include <string>

#include "api/host_api.h"

namespace samepage {
namespace {

std::string shape_text(const Tensor& t) {
  std::string s = std::string(dtype_name(t.dtype)) + "[";
  for (int i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

int64_t n_elements(const Tensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.n_dims; ++i) n *= t.shape[i];
  return n;
}
int64_t row_length(const Tensor& t) { return t.shape[t.n_dims - 1]; }
int64_t n_rows(const Tensor& t) { return n_elements(t) / row_length(t); }

// Limits that keep per-call host work and scratch bounded whatever the guest
// asks for: kernels size temporaries by these (scores per position, rope tables).
constexpr int64_t kMaxContext = int64_t{1} << 20;
constexpr int64_t kMaxHeadDim = int64_t{1} << 16;

// One storage: the same handle, or a tensor and its reshaped alias.
bool same_storage(const Tensor& a, const Tensor& b) { return &a == &b || (a.storage && a.storage == b.storage); }

bool overlaps(const Tensor& a, const Tensor& b) {
  if (same_storage(a, b)) return true;
  if (!a.is_view || !b.is_view) return false;
  return a.guest_offset < b.guest_offset + b.n_bytes && b.guest_offset < a.guest_offset + a.n_bytes;
}

struct Checker {
  const OpRequest& req;
  Tensor* const* t;
  std::string* message;
  int32_t code = SP_OK;

  bool fail(int32_t c, const std::string& m) {
    if (code == SP_OK) {
      code = c;
      *message = std::string(op_name(req.op)) + ": " + m;
    }
    return false;
  }
  bool dtype(int i, DType want, const char* role) {
    if (t[i]->dtype == want) return true;
    return fail(SP_ERR_DTYPE, std::string(role) + " must be " + dtype_name(want) + ", got " + shape_text(*t[i]));
  }
  bool same_count(int a, int b) {
    if (n_elements(*t[a]) == n_elements(*t[b])) return true;
    return fail(SP_ERR_SHAPE, "element counts differ: " + shape_text(*t[a]) + " vs " + shape_text(*t[b]));
  }
  bool no_overlap(int out, int in) {
    if (!overlaps(*t[out], *t[in])) return true;
    return fail(SP_ERR_ARG, "output " + shape_text(*t[out]) + " overlaps input " + shape_text(*t[in]));
  }
  // Elementwise ops may work in place (out is exactly an input), but a
  // partial overlap would make the result depend on the order of writes.
  bool alias_or_disjoint(int out, int in) {
    const Tensor& a = *t[out];
    const Tensor& b = *t[in];
    if (same_storage(a, b) || !overlaps(a, b) || (a.guest_offset == b.guest_offset && a.n_bytes == b.n_bytes))
      return true;
    return fail(SP_ERR_ARG, "output " + shape_text(a) + " partly overlaps input " + shape_text(b));
  }
  bool rank(int i, int want, const char* role) {
    if (t[i]->n_dims == want) return true;
    return fail(SP_ERR_SHAPE, std::string(role) + " must have " + std::to_string(want) + " dims, got " +
                                     shape_text(*t[i]));
  }
};

}  // namespace

int32_t validate_op(const OpRequest& req, Tensor* const tensors[4], std::string* message) {
  Checker c{req, tensors, message};
  Tensor* const* t = tensors;
  // The host never writes a const tensor, whatever its page protection.
  if (req.op != OpCode_count && (t[0]->flags & SP_CONST)) {
    c.fail(SP_ERR_ARG, "the output " + shape_text(*t[0]) + " is a const tensor (SP_CONST): the host never writes it");
    return c.code;
  }
  switch (req.op) {
    case OpCode_matmul: {
      // out (m, n) f32 = x (m, k) f32 · w (n, k)ᵀ
      if (!c.dtype(0, DType_f32, "out") || !c.dtype(1, DType_f32, "x")) break;
      if (!dtype_is_weight(t[2]->dtype) || t[2]->n_dims != 2) {
        c.fail(SP_ERR_DTYPE, "w must be a 2-d weight matrix (n, k), got " + shape_text(*t[2]));
        break;
      }
      if (row_length(*t[1]) != row_length(*t[2])) {
        c.fail(SP_ERR_SHAPE, "x rows have " + std::to_string(row_length(*t[1])) + " elements, w rows " +
                                    std::to_string(row_length(*t[2])));
        break;
      }
      if (row_length(*t[0]) != n_rows(*t[2]) || n_rows(*t[0]) != n_rows(*t[1])) {
        c.fail(SP_ERR_SHAPE, "out must be (" + std::to_string(n_rows(*t[1])) + ", " +
                                    std::to_string(n_rows(*t[2])) + "), got " + shape_text(*t[0]));
        break;
      }
      c.no_overlap(0, 1) && c.no_overlap(0, 2);
      break;
    }
    case OpCode_rmsnorm:
      if (!c.dtype(0, DType_f32, "out") || !c.dtype(1, DType_f32, "x") ||
          !c.dtype(2, DType_f32, "w") || !c.same_count(0, 1))
        break;
      if (n_elements(*t[2]) != row_length(*t[1]))
        c.fail(SP_ERR_SHAPE, "w must have one element per x column: " + shape_text(*t[2]) + " vs " +
                                    shape_text(*t[1]));
      else if (!(req.f[0] >= 0.0f) || req.f[0] > 1.0f)
        c.fail(SP_ERR_ARG, "eps must be in [0, 1]");
      else c.alias_or_disjoint(0, 1) && c.no_overlap(0, 2);
      break;
    case OpCode_rope:
      // x (tokens, heads, head_dim); out the same count, may be x's bytes;
      // factors (head_dim / 2) f32 when given (rope_ext).
      if (!c.dtype(0, DType_f32, "out") || !c.dtype(1, DType_f32, "x") || !c.rank(1, 3, "x") ||
          !c.same_count(0, 1))
        break;
      if (t[1]->shape[2] % 2 != 0 || t[1]->shape[2] > kMaxHeadDim)
        c.fail(SP_ERR_SHAPE, "head_dim must be even and at most " + std::to_string(kMaxHeadDim));
      else if (req.n_handles > 2 && (!c.dtype(2, DType_f32, "factors") || n_elements(*t[2]) != t[1]->shape[2] / 2))
        c.fail(SP_ERR_SHAPE, "factors must hold head_dim / 2 = " + std::to_string(t[1]->shape[2] / 2) +
                                 " elements, got " + shape_text(*t[2]));
      else if (req.i[0] < 0 || req.i[0] > INT32_MAX - t[1]->shape[0])
        c.fail(SP_ERR_ARG, "position must be >= 0, and position + tokens an int32");
      else if (req.i[1] != 0 && req.i[1] != 1) c.fail(SP_ERR_ARG, "mode must be SP_ROPE_NORMAL or SP_ROPE_NEOX");
      else if (!(req.f[0] > 0.0f) || !(req.f[1] > 0.0f)) c.fail(SP_ERR_ARG, "freq_base and freq_scale must be > 0");
      else if (c.alias_or_disjoint(0, 1) && req.n_handles > 2) c.no_overlap(0, 2);
      break;
    case OpCode_attention: {
      // q (T, H, D) f32; k, v (C, KVH, D) f32/f16/bf16; out (T, H, D) f32
      if (!c.dtype(0, DType_f32, "out") || !c.dtype(1, DType_f32, "q") || !c.rank(1, 3, "q") ||
          !c.rank(2, 3, "k_cache") || !c.rank(3, 3, "v_cache") || !c.same_count(0, 1))
        break;
      if (!dtype_is_float(t[2]->dtype) || t[2]->dtype != t[3]->dtype) {
        c.fail(SP_ERR_DTYPE, "k and v caches must share one of f32/f16/bf16");
        break;
      }
      for (int d = 0; d < 3; ++d)
        if (t[2]->shape[d] != t[3]->shape[d]) {
          c.fail(SP_ERR_SHAPE, "k and v caches differ: " + shape_text(*t[2]) + " vs " + shape_text(*t[3]));
          break;
        }
      if (c.code != SP_OK) break;
      const int64_t n_tokens = t[1]->shape[0], n_heads = t[1]->shape[1], head_dim = t[1]->shape[2];
      const int64_t n_ctx = t[2]->shape[0], n_kv_heads = t[2]->shape[1];
      if (t[2]->shape[2] != head_dim) c.fail(SP_ERR_SHAPE, "cache head_dim differs from q's");
      else if (head_dim > kMaxHeadDim || n_ctx > kMaxContext)
        c.fail(SP_ERR_SHAPE, "head_dim above " + std::to_string(kMaxHeadDim) + " or context above " +
                                    std::to_string(kMaxContext) + " positions");
      else if (n_heads % n_kv_heads != 0) c.fail(SP_ERR_SHAPE, "q heads must be a multiple of kv heads");
      else if (req.i[0] < 0 || req.i[0] + n_tokens > n_ctx)
        c.fail(SP_ERR_ARG, "pos0 " + std::to_string(req.i[0]) + " + " + std::to_string(n_tokens) +
                                  " tokens exceeds the cache's " + std::to_string(n_ctx) + " rows");
      else c.no_overlap(0, 1) && c.no_overlap(0, 2) && c.no_overlap(0, 3);
      break;
    }
    case OpCode_silu_mul:
      if (c.dtype(0, DType_f32, "out") && c.dtype(1, DType_f32, "a") &&
          c.dtype(2, DType_f32, "b") && c.same_count(0, 1) && c.same_count(0, 2))
        c.alias_or_disjoint(0, 1) && c.alias_or_disjoint(0, 2);
      break;
    case OpCode_add:
      // b: a's count, or one row of a's row length, added to every row (a bias).
      if (!c.dtype(0, DType_f32, "out") || !c.dtype(1, DType_f32, "a") || !c.dtype(2, DType_f32, "b") ||
          !c.same_count(0, 1))
        break;
      if (n_elements(*t[2]) == n_elements(*t[1])) c.alias_or_disjoint(0, 1) && c.alias_or_disjoint(0, 2);
      else if (n_elements(*t[2]) == row_length(*t[1]) && row_length(*t[2]) == row_length(*t[1]))
        c.alias_or_disjoint(0, 1) && c.no_overlap(0, 2);
      else
        c.fail(SP_ERR_SHAPE, "b must have a's element count or be one row of its length: " + shape_text(*t[1]) +
                                 " + " + shape_text(*t[2]));
      break;
    case OpCode_scale:
      if (c.dtype(0, DType_f32, "out") && c.dtype(1, DType_f32, "x") && c.same_count(0, 1))
        c.alias_or_disjoint(0, 1);
      break;
    case OpCode_embedding:
      // out (T, dim) f32 = rows tokens (T) i32 of table (vocab, dim)
      if (!c.dtype(0, DType_f32, "out") || !c.dtype(2, DType_i32, "tokens")) break;
      if (!dtype_is_weight(t[1]->dtype) || t[1]->n_dims != 2) {
        c.fail(SP_ERR_DTYPE, "table must be a 2-d weight matrix (vocab, dim), got " + shape_text(*t[1]));
        break;
      }
      if (n_elements(*t[0]) != n_elements(*t[2]) * row_length(*t[1]))
        c.fail(SP_ERR_SHAPE, "out must hold " + std::to_string(n_elements(*t[2])) + " rows of " +
                                    std::to_string(row_length(*t[1])) + ", got " + shape_text(*t[0]));
      else c.no_overlap(0, 1) && c.no_overlap(0, 2);
      break;
    case OpCode_softmax:
      if (c.dtype(0, DType_f32, "out") && c.dtype(1, DType_f32, "x") && c.same_count(0, 1)) {
        if (row_length(*t[0]) != row_length(*t[1])) c.fail(SP_ERR_SHAPE, "out and x rows differ");
        else c.alias_or_disjoint(0, 1);
      }
      break;
    case OpCode_argmax:
      // out (rows of x) i32 = argmax of each row of x f32
      if (!c.dtype(0, DType_i32, "out") || !c.dtype(1, DType_f32, "x")) break;
      if (n_elements(*t[0]) != n_rows(*t[1]))
        c.fail(SP_ERR_SHAPE, "out must hold one index per row of x (" + std::to_string(n_rows(*t[1])) + "), got " +
                                 shape_text(*t[0]));
      else c.no_overlap(0, 1);
      break;
    case OpCode_set_rows: {
      // dst (R, ...) f32/f16/bf16 rows [row0, row0 + S) = src (S, ...) f32/f16/bf16:
      // the same dtype is a byte copy (a saved f16 cache goes back as it was), another converts.
      if (!dtype_is_float(t[0]->dtype) || !dtype_is_float(t[1]->dtype)) {
        c.fail(SP_ERR_DTYPE, "dst and src must be f32, f16 or bf16, got " + shape_text(*t[1]) + " into " +
                                 shape_text(*t[0]));
        break;
      }
      const int64_t dst_rows = t[0]->shape[0], src_rows = t[1]->shape[0];
      if (n_elements(*t[0]) / dst_rows != n_elements(*t[1]) / src_rows || src_rows > dst_rows)
        c.fail(SP_ERR_SHAPE, "src rows must hold as many elements as dst rows, and be no more of them: " +
                                 shape_text(*t[1]) + " into " + shape_text(*t[0]));
      else if (req.i[0] < 0 || req.i[0] > dst_rows - src_rows)
        c.fail(SP_ERR_ARG, "row0 " + std::to_string(req.i[0]) + " + " + std::to_string(src_rows) +
                               " rows exceeds dst's " + std::to_string(dst_rows) + " rows");
      else c.no_overlap(0, 1);
      break;
    }
    case OpCode_get_rows: {
      // dst (S, ...) f32/f16/bf16 = src (R, ...) f32/f16/bf16 rows [row0, row0 + S)
      if (!dtype_is_float(t[0]->dtype) || !dtype_is_float(t[1]->dtype)) {
        c.fail(SP_ERR_DTYPE, "dst and src must be f32, f16 or bf16, got " + shape_text(*t[0]) + " from " +
                                 shape_text(*t[1]));
        break;
      }
      const int64_t dst_rows = t[0]->shape[0], src_rows = t[1]->shape[0];
      if (n_elements(*t[0]) / dst_rows != n_elements(*t[1]) / src_rows || dst_rows > src_rows)
        c.fail(SP_ERR_SHAPE, "dst rows must hold as many elements as src rows, and be no more of them: " +
                                 shape_text(*t[1]) + " into " + shape_text(*t[0]));
      else if (req.i[0] < 0 || req.i[0] > src_rows - dst_rows)
        c.fail(SP_ERR_ARG, "row0 " + std::to_string(req.i[0]) + " + " + std::to_string(dst_rows) +
                               " rows exceeds src's " + std::to_string(src_rows) + " rows");
      else c.no_overlap(0, 1);
      break;
    }
    case OpCode_copy:
      if (!c.same_count(0, 1)) break;
      if (t[0]->dtype != t[1]->dtype && !(dtype_is_float(t[0]->dtype) && dtype_is_float(t[1]->dtype)))
        c.fail(SP_ERR_DTYPE, std::string("cannot convert ") + dtype_name(t[1]->dtype) + " to " +
                                    dtype_name(t[0]->dtype));
      else if (!same_storage(*t[0], *t[1])) c.no_overlap(0, 1);
      break;
    case OpCode_count:
      c.fail(SP_ERR_ARG, "unknown op");
      break;
  }
  return c.code;
}

int32_t op_param_range(const OpRequest& req, Tensor* const t[4], ParamRange* range, std::string* message) {
  // Shapes were validated (with the parameter as 0) before this is asked.
  switch (req.op) {
    case OpCode_rope:  // pos >= 0, and pos + tokens stays an int32
      *range = {0, INT32_MAX - t[1]->shape[0], true};
      return SP_OK;
    case OpCode_attention:  // pos0 + tokens <= cache rows
      *range = {0, t[2]->shape[0] - t[1]->shape[0], true};
      return SP_OK;
    case OpCode_set_rows:  // row0 + src rows <= dst rows
      *range = {0, t[0]->shape[0] - t[1]->shape[0], true};
      return SP_OK;
    case OpCode_get_rows:  // row0 + dst rows <= src rows
      *range = {0, t[1]->shape[0] - t[0]->shape[0], true};
      return SP_OK;
    default:
      *message = std::string(op_name(req.op)) +
                 ": takes no SP_PARAM (positions of rope, attention, set_rows and get_rows do)";
      return SP_ERR_ARG;
  }
}

}  // namespace samepage
