// samepage guest SDK, C++ layer: RAII tensors and status checks over the C
// imports in samepage.h. No exceptions (guests build with -fno-exceptions):
// failures are reported through sp::Status.
#pragma once

#include <stdint.h>

#include <initializer_list>

#include "samepage.h"

namespace sp {

struct Status {
  int32_t code = SP_OK;
  bool ok() const { return code >= 0; }
  explicit operator bool() const { return ok(); }
  // The host's message for the last failed call.
  static const char* last_error() {
    static char buffer[512];
    sp_last_error(buffer, sizeof buffer);
    return buffer;
  }
};

// Owns one tensor handle; frees it when it goes out of scope.
class Tensor {
 public:
  Tensor() = default;
  // A view of guest memory: the host computes on these very bytes. data must
  // be aligned to the element (samepage.h: sp_tensor_view).
  static Tensor view(const void* data, sp_dtype dtype, std::initializer_list<uint32_t> shape, int32_t flags = SP_SHARED) {
    uint32_t dims[4] = {1, 1, 1, 1};
    int32_t n = 0;
    for (uint32_t d : shape) if (n < 4) dims[n++] = d;
    return Tensor(sp_tensor_view(data, dtype, n, dims, flags));
  }
  // A tensor the runtime owns (device-resident where the backend has a device).
  static Tensor alloc(sp_dtype dtype, std::initializer_list<uint32_t> shape, int32_t flags = SP_DEVICE) {
    uint32_t dims[4] = {1, 1, 1, 1};
    int32_t n = 0;
    for (uint32_t d : shape) if (n < 4) dims[n++] = d;
    return Tensor(sp_tensor_alloc(dtype, n, dims, flags));
  }
  // Another handle on this tensor's bytes with another shape of the same
  // element count (samepage.h: sp_tensor_reshape); it keeps them alive.
  Tensor reshape(std::initializer_list<uint32_t> shape) const {
    uint32_t dims[4] = {1, 1, 1, 1};
    int32_t n = 0;
    for (uint32_t d : shape) if (n < 4) dims[n++] = d;
    return Tensor(sp_tensor_reshape(handle_, n, dims));
  }
  ~Tensor() { reset(); }
  Tensor(Tensor&& other) : handle_(other.handle_) { other.handle_ = 0; }
  Tensor& operator=(Tensor&& other) {
    if (this != &other) {
      reset();
      handle_ = other.handle_;
      other.handle_ = 0;
    }
    return *this;
  }
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  bool valid() const { return handle_ > 0; }
  Status status() const { return Status{handle_ > 0 ? SP_OK : handle_}; }
  sp_tensor handle() const { return handle_; }
  void reset() {
    if (handle_ > 0) sp_tensor_free(handle_);
    handle_ = 0;
  }

 private:
  explicit Tensor(int32_t handle) : handle_(handle) {}
  sp_tensor handle_ = 0;
};

inline Status matmul(const Tensor& out, const Tensor& x, const Tensor& w) {
  return Status{sp_matmul(out.handle(), x.handle(), w.handle())};
}
inline Status rmsnorm(const Tensor& out, const Tensor& x, const Tensor& w, float eps) {
  return Status{sp_rmsnorm(out.handle(), x.handle(), w.handle(), eps)};
}
inline Status rope(const Tensor& out, const Tensor& x, int32_t pos, float base, float scale, sp_rope_mode mode) {
  return Status{sp_rope(out.handle(), x.handle(), pos, base, scale, mode)};
}
// rope with per-pair frequency factors: (head_dim / 2) f32 divisors of the angles.
inline Status rope_ext(const Tensor& out, const Tensor& x, const Tensor& factors, int32_t pos, float base, float scale,
                       sp_rope_mode mode) {
  return Status{sp_rope_ext(out.handle(), x.handle(), factors.handle(), pos, base, scale, mode)};
}
inline Status attention(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, int32_t pos0) {
  return Status{sp_attention(out.handle(), q.handle(), k.handle(), v.handle(), pos0)};
}
inline Status silu_mul(const Tensor& out, const Tensor& a, const Tensor& b) {
  return Status{sp_silu_mul(out.handle(), a.handle(), b.handle())};
}
inline Status add(const Tensor& out, const Tensor& a, const Tensor& b) {
  return Status{sp_add(out.handle(), a.handle(), b.handle())};
}
inline Status scale(const Tensor& out, const Tensor& x, float s) { return Status{sp_scale(out.handle(), x.handle(), s)}; }
inline Status embedding(const Tensor& out, const Tensor& table, const Tensor& tokens) {
  return Status{sp_embedding(out.handle(), table.handle(), tokens.handle())};
}
inline Status softmax(const Tensor& out, const Tensor& x) { return Status{sp_softmax(out.handle(), x.handle())}; }
inline Status copy(const Tensor& dst, const Tensor& src) { return Status{sp_copy(dst.handle(), src.handle())}; }
inline Status argmax(const Tensor& out, const Tensor& x) { return Status{sp_argmax(out.handle(), x.handle())}; }
// src f32/f16/bf16 (the same dtype as dst: bytes); row0 may be param(i) inside a recording.
inline Status set_rows(const Tensor& dst, const Tensor& src, int32_t row0) {
  return Status{sp_set_rows(dst.handle(), src.handle(), row0)};
}
// dst = src rows [row0, row0 + dst rows), converted to dst's dtype; row0 may be param(i).
inline Status get_rows(const Tensor& dst, const Tensor& src, int32_t row0) {
  return Status{sp_get_rows(dst.handle(), src.handle(), row0)};
}

// A scalar argument that names replay parameter i (SP_PARAM(i)).
constexpr int32_t param(int32_t i) { return SP_PARAM(i); }

// The values of a replay's parameters: params.set(0, pos); seq.replay(params).
template <int N>
struct Params {
  static_assert(N > 0 && N <= SP_MAX_PARAMS, "1 to SP_MAX_PARAMS parameters");
  int32_t values[N] = {};
  Params& set(int i, int32_t value) {
    if (i >= 0 && i < N) values[i] = value;
    return *this;
  }
};

// Owns a recorded sequence; frees it when it goes out of scope.
//   sp::Sequence seq = sp::Sequence::record([&] { sp::rope(q, q, sp::param(0), ...); });
class Sequence {
 public:
  Sequence() = default;
  // Records the ops that fn issues; status() says whether recording worked
  // (the first failed op's code, or record_end's).
  template <typename Fn>
  static Sequence record(Fn fn) {
    Sequence s;
    s.handle_ = sp_record_begin();
    if (s.handle_ < 0) return s;
    fn();
    s.handle_ = sp_record_end();
    return s;
  }
  ~Sequence() { reset(); }
  Sequence(Sequence&& other) : handle_(other.handle_) { other.handle_ = 0; }
  Sequence& operator=(Sequence&& other) {
    if (this != &other) {
      reset();
      handle_ = other.handle_;
      other.handle_ = 0;
    }
    return *this;
  }
  Sequence(const Sequence&) = delete;
  Sequence& operator=(const Sequence&) = delete;

  bool valid() const { return handle_ > 0; }
  Status status() const { return Status{handle_ > 0 ? SP_OK : handle_}; }
  sp_sequence handle() const { return handle_; }
  Status replay() const { return Status{sp_replay(handle_, nullptr, 0)}; }
  template <int N>
  Status replay(const Params<N>& params) const { return Status{sp_replay(handle_, params.values, N)}; }
  void reset() {
    if (handle_ > 0) sp_sequence_free(handle_);
    handle_ = 0;
  }

 private:
  sp_sequence handle_ = 0;
};

// A file region mapped read-only into this guest's memory; unmapped (zeroed
// pages put back) when it goes out of scope. Maps into fresh pages from
// sp_alloc_pages unless given page-aligned memory of the guest's own.
class FileMapping {
 public:
  FileMapping() = default;
  static FileMapping map(int32_t fd, uint64_t file_offset, uint32_t n_bytes, void* at = nullptr) {
    FileMapping m;
#if defined(__wasm__)
    if (at == nullptr) at = sp_alloc_pages(n_bytes);
#endif
    if (at == nullptr) {
      m.status_ = SP_ERR_NO_MEMORY;
      return m;
    }
    m.status_ = sp_map_file(fd, file_offset, n_bytes, at);
    if (m.status_ >= 0) {
      m.data_ = at;
      m.n_bytes_ = n_bytes;
    }
    return m;
  }
  ~FileMapping() { reset(); }
  FileMapping(FileMapping&& o) : data_(o.data_), n_bytes_(o.n_bytes_), status_(o.status_) { o.data_ = nullptr; }
  FileMapping& operator=(FileMapping&& o) {
    if (this != &o) {
      reset();
      data_ = o.data_;
      n_bytes_ = o.n_bytes_;
      status_ = o.status_;
      o.data_ = nullptr;
    }
    return *this;
  }
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;

  Status status() const { return Status{status_}; }
  const void* data() const { return data_; }
  uint32_t n_bytes() const { return n_bytes_; }
  void reset() {
    if (data_ != nullptr) sp_unmap_file(data_, n_bytes_);
    data_ = nullptr;
  }

 private:
  void* data_ = nullptr;
  uint32_t n_bytes_ = 0;
  int32_t status_ = SP_OK;
};

}  // namespace sp
