// The "samepage" import module as wasm2c calls it: Z_samepageZ_<name>, with
// the GuestContext* first. Each entry point catches everything: no C++
// exception may unwind into generated C code, and each runs behind the host
// call gate (guest_call/host_call_gate.h) through guarded().
#include <new>

#include <type_traits>

#include "api/host_api.h"
#include "api/host_api_entries.h"
#include "api/host_api_imports.h"
#include "guest_call/guest_context.h"
#include "guest_call/host_call_gate.h"

using samepage::GuestContext;
using samepage::HostApi;
using samepage::OpCode;
using samepage::OpRequest;

namespace {

template <typename Fn>
uint32_t guarded(GuestContext* ctx, Fn fn) {
  return samepage::host_call([&]() noexcept -> uint32_t {
    // Not attached: called from a start function before the memory existed.
    if (ctx == nullptr || ctx->api == nullptr || !ctx->api->attached()) return static_cast<uint32_t>(SP_ERR_STATE);
    try {
      return static_cast<uint32_t>(fn(*ctx->api));
    } catch (const std::bad_alloc&) {
      return static_cast<uint32_t>(SP_ERR_NO_MEMORY);
    } catch (...) {
      return static_cast<uint32_t>(SP_ERR_BACKEND);
    }
  });
}

uint32_t submit(GuestContext* ctx, OpCode op, std::initializer_list<uint32_t> handles, float f0 = 0, float f1 = 0,
                int32_t i0 = 0, int32_t i1 = 0) {
  OpRequest r;
  r.op = op;
  for (uint32_t h : handles) r.handles[r.n_handles++] = static_cast<int32_t>(h);
  r.f[0] = f0;
  r.f[1] = f1;
  r.i[0] = i0;
  r.i[1] = i1;
  return guarded(ctx, [&](HostApi& api) { return api.submit(r); });
}

}  // namespace

extern "C" {

uint32_t Z_samepageZ_tensor_view(GuestContext* ctx, uint32_t ptr, uint32_t dtype, uint32_t n_dims, uint32_t shape,
                                 uint32_t flags) {
  return guarded(ctx, [&](HostApi& a) {
    return a.tensor_view(ptr, static_cast<int32_t>(dtype), static_cast<int32_t>(n_dims), shape, static_cast<int32_t>(flags));
  });
}
uint32_t Z_samepageZ_tensor_alloc(GuestContext* ctx, uint32_t dtype, uint32_t n_dims, uint32_t shape, uint32_t flags) {
  return guarded(ctx, [&](HostApi& a) {
    return a.tensor_alloc(static_cast<int32_t>(dtype), static_cast<int32_t>(n_dims), shape, static_cast<int32_t>(flags));
  });
}
uint32_t Z_samepageZ_tensor_free(GuestContext* ctx, uint32_t t) {
  return guarded(ctx, [&](HostApi& a) { return a.tensor_free(static_cast<int32_t>(t)); });
}
uint32_t Z_samepageZ_tensor_reshape(GuestContext* ctx, uint32_t t, uint32_t n_dims, uint32_t shape) {
  return guarded(ctx, [&](HostApi& a) {
    return a.tensor_reshape(static_cast<int32_t>(t), static_cast<int32_t>(n_dims), shape);
  });
}
uint32_t Z_samepageZ_sync(GuestContext* ctx, uint32_t t) {
  return guarded(ctx, [&](HostApi& a) { return a.sync(static_cast<int32_t>(t)); });
}
uint32_t Z_samepageZ_matmul(GuestContext* ctx, uint32_t out, uint32_t x, uint32_t w) {
  return submit(ctx, samepage::OpCode_matmul, {out, x, w});
}
uint32_t Z_samepageZ_rmsnorm(GuestContext* ctx, uint32_t out, uint32_t x, uint32_t w, float eps) {
  return submit(ctx, samepage::OpCode_rmsnorm, {out, x, w}, eps);
}
uint32_t Z_samepageZ_rope(GuestContext* ctx, uint32_t out, uint32_t x, uint32_t pos, float base, float scale,
                          uint32_t mode) {
  return submit(ctx, samepage::OpCode_rope, {out, x}, base, scale, static_cast<int32_t>(pos), static_cast<int32_t>(mode));
}
uint32_t Z_samepageZ_rope_ext(GuestContext* ctx, uint32_t out, uint32_t x, uint32_t factors, uint32_t pos, float base,
                              float scale, uint32_t mode) {
  return submit(ctx, samepage::OpCode_rope, {out, x, factors}, base, scale, static_cast<int32_t>(pos),
                static_cast<int32_t>(mode));
}
uint32_t Z_samepageZ_attention(GuestContext* ctx, uint32_t out, uint32_t q, uint32_t k, uint32_t v, uint32_t pos0) {
  return submit(ctx, samepage::OpCode_attention, {out, q, k, v}, 0, 0, static_cast<int32_t>(pos0));
}
uint32_t Z_samepageZ_silu_mul(GuestContext* ctx, uint32_t out, uint32_t a, uint32_t b) {
  return submit(ctx, samepage::OpCode_silu_mul, {out, a, b});
}
uint32_t Z_samepageZ_add(GuestContext* ctx, uint32_t out, uint32_t a, uint32_t b) {
  return submit(ctx, samepage::OpCode_add, {out, a, b});
}
uint32_t Z_samepageZ_scale(GuestContext* ctx, uint32_t out, uint32_t x, float s) {
  return submit(ctx, samepage::OpCode_scale, {out, x}, s);
}
uint32_t Z_samepageZ_embedding(GuestContext* ctx, uint32_t out, uint32_t table, uint32_t tokens) {
  return submit(ctx, samepage::OpCode_embedding, {out, table, tokens});
}
uint32_t Z_samepageZ_softmax(GuestContext* ctx, uint32_t out, uint32_t x) {
  return submit(ctx, samepage::OpCode_softmax, {out, x});
}
uint32_t Z_samepageZ_argmax(GuestContext* ctx, uint32_t out, uint32_t x) {
  return submit(ctx, samepage::OpCode_argmax, {out, x});
}
uint32_t Z_samepageZ_set_rows(GuestContext* ctx, uint32_t dst, uint32_t src, uint32_t row0) {
  return submit(ctx, samepage::OpCode_set_rows, {dst, src}, 0, 0, static_cast<int32_t>(row0));
}
uint32_t Z_samepageZ_copy(GuestContext* ctx, uint32_t dst, uint32_t src) {
  return submit(ctx, samepage::OpCode_copy, {dst, src});
}
uint32_t Z_samepageZ_record_begin(GuestContext* ctx) {
  return guarded(ctx, [&](HostApi& a) { return a.record_begin(); });
}
uint32_t Z_samepageZ_record_end(GuestContext* ctx) {
  return guarded(ctx, [&](HostApi& a) { return a.record_end(); });
}
uint32_t Z_samepageZ_replay(GuestContext* ctx, uint32_t seq, uint32_t params, uint32_t n_params) {
  return guarded(ctx, [&](HostApi& a) {
    return a.replay(static_cast<int32_t>(seq), params, static_cast<int32_t>(n_params));
  });
}
uint32_t Z_samepageZ_sequence_free(GuestContext* ctx, uint32_t seq) {
  return guarded(ctx, [&](HostApi& a) { return a.sequence_free(static_cast<int32_t>(seq)); });
}
uint32_t Z_samepageZ_map_file(GuestContext* ctx, uint32_t fd, uint64_t file_offset, uint32_t n_bytes, uint32_t data) {
  return guarded(ctx, [&](HostApi& a) { return a.map_file(static_cast<int32_t>(fd), file_offset, n_bytes, data); });
}
uint32_t Z_samepageZ_unmap_file(GuestContext* ctx, uint32_t data, uint32_t n_bytes) {
  return guarded(ctx, [&](HostApi& a) { return a.unmap_file(data, n_bytes); });
}
uint32_t Z_samepageZ_tensor_info(GuestContext* ctx, uint32_t t, uint32_t out) {
  return guarded(ctx, [&](HostApi& a) { return a.tensor_info(static_cast<int32_t>(t), out); });
}
uint32_t Z_samepageZ_stats(GuestContext* ctx, uint32_t out) {
  return guarded(ctx, [&](HostApi& a) { return a.stats(out); });
}
uint32_t Z_samepageZ_last_error(GuestContext* ctx, uint32_t buf, uint32_t len) {
  return guarded(ctx, [&](HostApi& a) { return a.last_error(buf, static_cast<int32_t>(len)); });
}

}  // extern "C"

namespace samepage {

namespace {

template <typename T>
constexpr ValType wasm_val_type() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, uint64_t> || std::is_pointer_v<T> ||
                    (std::is_integral_v<T> && sizeof(T) == 4),
                "samepage imports take i32 (int32_t, uint32_t, pointers), i64 (uint64_t) and f32 (float)");
  if (std::is_same_v<T, float>) return ValType::ValType_f32;
  return std::is_same_v<T, uint64_t> ? ValType::ValType_i64 : ValType::ValType_i32;
}

template <typename R, typename... Params>
FuncType func_type_of(R (*)(Params...)) {
  FuncType type;
  (type.params.push_back(wasm_val_type<Params>()), ...);
  type.results.push_back(wasm_val_type<R>());
  return type;
}

}  // namespace

// Derived from the ABI's list, so the import check, the guest's prototypes
// and the entry points above cannot disagree.
const std::vector<HostImport>& samepage_host_imports() {
#define SAMEPAGE_IMPORT_TYPE(ret, name, c_name, params) \
  HostImport{"samepage", #name, func_type_of(static_cast<ret(*) params>(nullptr))},
  static const std::vector<HostImport> imports = {SP_IMPORTS(SAMEPAGE_IMPORT_TYPE)};
#undef SAMEPAGE_IMPORT_TYPE
  return imports;
}

}  // namespace samepage
