// The "samepage" import module as wasm2c calls it: Z_samepageZ_<name>, with
// the GuestContext* first. Each entry point catches everything: no C++
// exception may unwind into generated C code, and each runs behind the host
// call gate (guest_call/host_call_gate.h) through guarded().
#include <new>

#include "api/host_api.h"
#include "api/host_api_imports.h"
#include "guest_call/guest_context.h"
#include "guest_call/host_call_gate.h"

using samepage::ApiStatus_no_memory;
using samepage::ApiStatus_state;
using samepage::GuestContext;
using samepage::HostApi;
using samepage::OpCode;
using samepage::OpRequest;

namespace {

template <typename Fn>
uint32_t guarded(GuestContext* ctx, Fn fn) {
  return samepage::host_call([&]() noexcept -> uint32_t {
    // Not attached: called from a start function before the memory existed.
    if (ctx == nullptr || ctx->api == nullptr || !ctx->api->attached()) return static_cast<uint32_t>(ApiStatus_state);
    try {
      return static_cast<uint32_t>(fn(*ctx->api));
    } catch (const std::bad_alloc&) {
      return static_cast<uint32_t>(ApiStatus_no_memory);
    } catch (...) {
      return static_cast<uint32_t>(samepage::ApiStatus_backend);
    }
  });
}

uint32_t submit(GuestContext* ctx, OpCode op, std::initializer_list<uint32_t> handles, float f0 = 0, float f1 = 0,
                int32_t i0 = 0, int32_t i1 = 0, uint32_t index_out = 0) {
  OpRequest r;
  r.op = op;
  for (uint32_t h : handles) r.handles[r.n_handles++] = static_cast<int32_t>(h);
  r.f[0] = f0;
  r.f[1] = f1;
  r.i[0] = i0;
  r.i[1] = i1;
  r.index_out = index_out;
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
uint32_t Z_samepageZ_argmax(GuestContext* ctx, uint32_t x, uint32_t out_indices) {
  // argmax has no output tensor; slot 0 repeats x so every slot holds a live handle.
  return submit(ctx, samepage::OpCode_argmax, {x, x}, 0, 0, 0, 0, out_indices);
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

const std::vector<HostImport>& samepage_host_imports() {
  using V = ValType;
  const V i = V::ValType_i32, f = V::ValType_f32;
  static const std::vector<HostImport> imports = {
      {"samepage", "tensor_view", {{i, i, i, i, i}, {i}}},
      {"samepage", "tensor_alloc", {{i, i, i, i}, {i}}},
      {"samepage", "tensor_free", {{i}, {i}}},
      {"samepage", "sync", {{i}, {i}}},
      {"samepage", "matmul", {{i, i, i}, {i}}},
      {"samepage", "rmsnorm", {{i, i, i, f}, {i}}},
      {"samepage", "rope", {{i, i, i, f, f, i}, {i}}},
      {"samepage", "attention", {{i, i, i, i, i}, {i}}},
      {"samepage", "silu_mul", {{i, i, i}, {i}}},
      {"samepage", "add", {{i, i, i}, {i}}},
      {"samepage", "scale", {{i, i, f}, {i}}},
      {"samepage", "embedding", {{i, i, i}, {i}}},
      {"samepage", "softmax", {{i, i}, {i}}},
      {"samepage", "argmax", {{i, i}, {i}}},
      {"samepage", "copy", {{i, i}, {i}}},
      {"samepage", "record_begin", {{}, {i}}},
      {"samepage", "record_end", {{}, {i}}},
      {"samepage", "replay", {{i, i, i}, {i}}},
      {"samepage", "tensor_info", {{i, i}, {i}}},
      {"samepage", "stats", {{i}, {i}}},
      {"samepage", "last_error", {{i, i}, {i}}},
  };
  return imports;
}

}  // namespace samepage
