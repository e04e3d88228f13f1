/* The samepage guest ABI, in one place: enums, struct layouts and the
 * "samepage" import list. Plain C with no imports of its own: the guest SDK
 * (samepage.h) generates its prototypes from SP_IMPORTS, and the host derives
 * each import's wasm type and checks its entry points against the same list.
 *
 * Every call returns an int32 status: >= 0 is success (a handle, an index or
 * 0), < 0 is an SP_ERR_* code; sp_last_error() then gives the message.
 * Shapes are listed outermost first (row-major): a matrix of n rows of k
 * elements has shape {n, k}. */
#ifndef SAMEPAGE_ABI_H_
#define SAMEPAGE_ABI_H_

#include <stdint.h>

typedef int32_t sp_tensor;   /* a tensor handle, > 0 */
typedef int32_t sp_sequence; /* a recorded sequence, > 0 */

/* Element types; the quant types are GGUF's block layouts (32 elements a
 * block). Sizes and names: the host's dtype table (samepage/dtype.h). */
enum sp_dtype {
  SP_F32 = 0,
  SP_F16 = 1,
  SP_BF16 = 2,
  SP_Q8_0 = 3,
  SP_Q4_0 = 4,
  SP_Q4_1 = 5,
  SP_I32 = 6,
};

/* Residency flags of a tensor (DESIGN.md §3). */
enum sp_flags {
  SP_SHARED = 0, /* coherent at every call boundary (default) */
  SP_CONST = 1,  /* the guest will not write it (weights): pages become read-only */
  SP_DEVICE = 2, /* the authoritative copy may live on the device; sp_sync brings it back */
};

enum sp_status {
  SP_OK = 0,
  SP_ERR_ARG = -1,         /* a bad argument (null, negative, unknown enum) */
  SP_ERR_RANGE = -2,       /* a pointer range outside guest memory */
  SP_ERR_HANDLE = -3,      /* not a live tensor handle */
  SP_ERR_SHAPE = -4,       /* shapes do not fit the op */
  SP_ERR_DTYPE = -5,       /* a dtype the op does not take */
  SP_ERR_UNSUPPORTED = -6, /* valid, but this backend cannot do it */
  SP_ERR_NO_MEMORY = -7,
  SP_ERR_BACKEND = -8,     /* the backend failed; see sp_last_error */
  SP_ERR_STATE = -9,       /* not allowed now (e.g. nested recording) */
};

enum sp_rope_mode { SP_ROPE_NORMAL = 0, SP_ROPE_NEOX = 1 };

/* In a recorded sequence, an i32 scalar argument may name a replay
 * parameter instead of a value: SP_PARAM(i) reads params[i] at replay. */
#define SP_PARAM_BASE (-0x40000000)
#define SP_PARAM(i) (SP_PARAM_BASE - (int32_t)(i))
#define SP_MAX_PARAMS 1024 /* parameters of one replay */

/* sp_tensor_info_get's result. */
typedef struct {
  int32_t dtype, n_dims, flags, is_view;
  uint32_t shape[4];
  uint64_t n_bytes;
  int32_t zero_copy;       /* 1 when the backend last read or wrote this view at the guest's own address */
  int32_t write_protected; /* 1 for a const view of whole host pages: a guest write traps.
                              A const view that is not whole pages is not protected (0); the
                              host still never writes it. */
} sp_tensor_info;

/* sp_stats_get's result: process memory, for benchmarks and tests. */
typedef struct {
  uint64_t rss_bytes, rss_anon_bytes, rss_file_bytes;
  uint64_t memory_bytes; /* this guest's linear memory size */
  uint64_t staged_bytes; /* bytes held in copy-mode staging buffers */
  int32_t copy_mode;     /* 1 under --memory-mode copy */
  int32_t reserved;
} sp_stats;

/* The host checks the same layouts (src/api/host_api_entries.h). */
#if defined(__wasm32__)
#include <stddef.h>
#ifdef __cplusplus
#define SP_ABI_ASSERT(cond) static_assert(cond, "samepage ABI layout")
#else
#define SP_ABI_ASSERT(cond) _Static_assert(cond, "samepage ABI layout")
#endif
SP_ABI_ASSERT(sizeof(sp_tensor_info) == 48 && offsetof(sp_tensor_info, n_bytes) == 32);
SP_ABI_ASSERT(sizeof(sp_stats) == 48 && offsetof(sp_stats, copy_mode) == 40);
#undef SP_ABI_ASSERT
#endif

/* The imports: X(return type, import name, C name, (parameters)).
 * Parameters are i32 (int32_t, uint32_t, pointers), i64 (uint64_t) or f32 (float). */
#define SP_IMPORTS(X)                                                                                          \
  /* Tensors */                                                                                                \
  /* A view of guest bytes at data. data must be aligned to the element: 4 bytes for SP_F32 and SP_I32,     \
   * 2 for SP_F16, SP_BF16 and the quant types (their blocks start with an f16 scale); else SP_ERR_ARG. */    \
  X(int32_t, tensor_view, sp_tensor_view,                                                                      \
    (const void* data, int32_t dtype, int32_t n_dims, const uint32_t* shape, int32_t flags))                  \
  /* A zeroed tensor the runtime owns (device memory on a GPU). */                                             \
  X(int32_t, tensor_alloc, sp_tensor_alloc, (int32_t dtype, int32_t n_dims, const uint32_t* shape, int32_t flags)) \
  X(int32_t, tensor_free, sp_tensor_free, (sp_tensor t))                                                       \
  /* A new handle on t's bytes with another shape of the same element count (same dtype; rows of quant types  \
   * stay multiples of 32), for a view or a runtime tensor: a matmul's (n, heads*head_dim) as rope's          \
   * (n, heads, head_dim). The alias keeps the storage alive: freeing t or the alias frees only that handle,  \
   * the bytes (and a const view's protection) go with the last handle on them. Ops treat the two as the      \
   * same bytes (an in-place op may take one as out and the other as input). */                                 \
  X(int32_t, tensor_reshape, sp_tensor_reshape, (sp_tensor t, int32_t n_dims, const uint32_t* shape))          \
  /* Brings the guest bytes of a device-resident view up to date. */                                           \
  X(int32_t, sync, sp_sync, (sp_tensor t))                                                                     \
  /* Ops: out first, then inputs, then scalars. */                                                             \
  X(int32_t, matmul, sp_matmul, (sp_tensor out, sp_tensor x, sp_tensor w))                                     \
  X(int32_t, rmsnorm, sp_rmsnorm, (sp_tensor out, sp_tensor x, sp_tensor w, float eps))                        \
  X(int32_t, rope, sp_rope,                                                                                    \
    (sp_tensor out, sp_tensor x, int32_t pos, float freq_base, float freq_scale, int32_t mode))                \
  /* rope with per-pair frequency factors (Llama 3.1+ rope_freqs.weight): factors is f32 (head_dim / 2), and  \
   * pair i turns by pos * freq_scale * freq_base^(-2i/head_dim) / factors[i]. Factors are used as they are:  \
   * 0 or NaN give NaN results, never a fault. */                                                              \
  X(int32_t, rope_ext, sp_rope_ext,                                                                            \
    (sp_tensor out, sp_tensor x, sp_tensor factors, int32_t pos, float freq_base, float freq_scale, int32_t mode)) \
  X(int32_t, attention, sp_attention, (sp_tensor out, sp_tensor q, sp_tensor k_cache, sp_tensor v_cache, int32_t pos0)) \
  X(int32_t, silu_mul, sp_silu_mul, (sp_tensor out, sp_tensor a, sp_tensor b))                                 \
  /* out = a + b. b has a's element count, or is one row of a's row length (shape {d} or {1, d}): then it is \
   * added to every row of a (a bias). */                                                                      \
  X(int32_t, add, sp_add, (sp_tensor out, sp_tensor a, sp_tensor b))                                           \
  X(int32_t, scale, sp_scale, (sp_tensor out, sp_tensor x, float s))                                           \
  X(int32_t, embedding, sp_embedding, (sp_tensor out, sp_tensor table, sp_tensor tokens))                      \
  X(int32_t, softmax, sp_softmax, (sp_tensor out, sp_tensor x))                                                \
  /* out (i32, one element per row of x) = the index of the first maximum of each row of x (f32). NaN      \
   * entries are ignored (never the maximum); a row holding nothing but NaN gives index 0, so every result   \
   * is a valid index. Greedy sampling stays on the device. */                                                 \
  X(int32_t, argmax, sp_argmax, (sp_tensor out, sp_tensor x))                                                  \
  /* Writes src's rows (f32/f16/bf16) into dst (f32/f16/bf16) at rows [row0, row0 + src rows): K/V cache       \
   * writes. The same dtype is a byte copy (a saved f16 cache restored as it was, no f32 round trip); another  \
   * converts, rounding to nearest even as copy does. A row is one index of the outermost dimension; the rest  \
   * of the shapes must hold as many elements. row0 may be SP_PARAM(i). */                                     \
  X(int32_t, set_rows, sp_set_rows, (sp_tensor dst, sp_tensor src, int32_t row0))                              \
  /* Reads rows [row0, row0 + dst rows) of src (f32/f16/bf16) into dst (f32/f16/bf16, converted as copy does): \
   * the filled part of a K/V cache, for a session snapshot. Rows as for set_rows; row0 may be SP_PARAM(i). */ \
  X(int32_t, get_rows, sp_get_rows, (sp_tensor dst, sp_tensor src, int32_t row0))                              \
  /* Copies (and converts between f32/f16/bf16) src into dst, across residencies. */                          \
  X(int32_t, copy, sp_copy, (sp_tensor dst, sp_tensor src))                                                    \
  /* Recorded sequences: ops between begin and end are recorded, not run. */                                   \
  X(int32_t, record_begin, sp_record_begin, (void))                                                            \
  X(int32_t, record_end, sp_record_end, (void)) /* returns a sequence handle */                                \
  /* Runs a recorded sequence. Each parameter is checked against the range its ops allow (found once, at    \
   * record_end), then the ops run without being validated again. A sequence whose tensor was freed fails    \
   * with SP_ERR_STATE. */                                                                                       \
  X(int32_t, replay, sp_replay, (sp_sequence sequence, const int32_t* params, int32_t n_params))               \
  X(int32_t, sequence_free, sp_sequence_free, (sp_sequence sequence))                                          \
  /* Files: maps [file_offset, +n_bytes) of a file the guest opened through WASI (fd) read-only at data,     \
   * with no copy (MAP_SHARED; a guest write traps). data and file_offset must be multiples of the host page \
   * (sp_alloc_pages gives such memory); the pages, rounded up, must be inside the memory and not const or   \
   * mapped already. sp_unmap_file(data, n_bytes) puts zeroed writable pages back. */                          \
  X(int32_t, map_file, sp_map_file, (int32_t fd, uint64_t file_offset, uint32_t n_bytes, void* data))         \
  X(int32_t, unmap_file, sp_unmap_file, (void* data, uint32_t n_bytes))                                        \
  /* Introspection, for benchmarks and tests. */                                                               \
  X(int32_t, tensor_info, sp_tensor_info_get, (sp_tensor t, sp_tensor_info* info))                             \
  X(int32_t, stats, sp_stats_get, (sp_stats* out))                                                             \
  /* The message of the last failed call, NUL-terminated; returns its length. */                               \
  X(int32_t, last_error, sp_last_error, (char* buf, int32_t buf_len))

#endif /* SAMEPAGE_ABI_H_ */
