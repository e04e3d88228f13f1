// The CPU backend: the reference for correctness and the default. Guest
// memory is ordinary host memory here, so every residency is zero-copy and
// the flags are no-ops; ops run the kernels in this folder directly.
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "backends/cpu/attention.h"
#include "backends/cpu/blas.h"
#include "backends/cpu/context.h"
#include "backends/cpu/elementwise.h"
#include "backends/cpu/embedding.h"
#include "backends/cpu/matmul.h"
#include "backends/cpu/norm.h"
#include "backends/cpu/rope.h"
#include "backends/cpu/softmax.h"
#include "backends/backend_entries.h"

namespace samepage {
namespace {

// Capabilities from what the machine is, without creating a backend (no
// thread pool): `samepage devices` prints these.
BackendCaps cpu_caps(int n_threads, cpu::CpuIsa isa) {
  BackendCaps caps;
  caps.name = "cpu";
  caps.device = std::to_string(n_threads) + " threads, " + cpu::cpu_isa_name(isa) + " kernels";
  caps.zero_copy_host_memory = true;
  caps.device_memory = false;
  caps.native_replay = false;
  caps.notes.push_back("guest memory is host memory: kernels read and write it in place; residency flags are no-ops");
  caps.notes.push_back(std::string("kernel ISA chosen at run time: ") + cpu::cpu_isa_name(isa));
  caps.notes.push_back(std::string("prefill sgemm (float weights, >= 16 rows): ") + cpu::blas_description());
  return caps;
}

struct FreeBytes {
  void operator()(void* p) const { std::free(p); }
};

// One backend (and so one CpuContext, whose scratch serves one caller at a
// time) per guest instance; a guest makes one host call at a time.
class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads) : ctx_(n_threads), caps_(cpu_caps(ctx_.n_threads(), ctx_.isa())) {}

  // Views are used in place; runtime tensors are zeroed host memory.
  Result<void*> tensor_create(const TensorDesc& t) override {
    if (t.guest_data != nullptr) return t.guest_data;
    const uint64_t rounded = (t.n_bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (p == nullptr) return err("cpu::tensor_create", "out of memory for " + std::to_string(t.n_bytes) + " bytes");
    std::memset(p, 0, rounded);  // memory handed to a guest is zeroed
    owned_[t.id].reset(p);
    return p;
  }
  void tensor_release(uint64_t id) override { owned_.erase(id); }

  const BackendCaps& caps() const override { return caps_; }
  Status use_host_memory(void*, uint64_t) override { return Status::ok(); }
  Status sync() override { return Status::ok(); }

  Status execute(const OpArgs& op) override {
    const TensorArg* t = op.t;
    auto f32 = [](const TensorArg& a) { return static_cast<float*>(a.data); };
    switch (op.op) {
      case OpCode_matmul:
        return cpu::matmul(ctx_, (t[2].dtype), t[2].data, f32(t[1]), f32(t[0]), t[1].n_rows(),
                           t[2].n_rows(), t[1].row_length());
      case OpCode_rmsnorm:
        cpu::rmsnorm(f32(t[1]), f32(t[2]), f32(t[0]), t[1].n_rows(), t[1].row_length(), op.f[0]);
        return Status::ok();
      case OpCode_rope: {
        cpu::RopeParams p;
        p.head_dim = t[1].shape[2];
        p.n_heads = t[1].shape[1];
        p.freq_base = op.f[0];
        p.freq_scale = op.f[1];
        p.mode = static_cast<cpu::RopeMode>(op.i[1]);
        p.factors = static_cast<const float*>(t[2].data);  // null: none
        return cpu::rope(p, f32(t[1]), f32(t[0]), t[1].shape[0], op.i[0]);
      }
      case OpCode_attention: {
        cpu::AttentionShape s;
        s.n_q_tokens = t[1].shape[0];
        s.n_heads = t[1].shape[1];
        s.head_dim = t[1].shape[2];
        s.n_ctx = t[2].shape[0];
        s.n_kv_heads = t[2].shape[1];
        s.pos0 = op.i[0];
        return cpu::attention(ctx_, s, f32(t[1]), (t[2].dtype), t[2].data, t[3].data, f32(t[0]));
      }
      case OpCode_silu_mul:
        cpu::silu_mul(f32(t[1]), f32(t[2]), f32(t[0]), t[0].n_elements());
        return Status::ok();
      case OpCode_add:
        if (t[2].n_elements() == t[0].n_elements()) {
          cpu::add(f32(t[1]), f32(t[2]), f32(t[0]), t[0].n_elements());
        } else {  // validated: t2 is one row of t1's row length, added to each row
          const int64_t n = t[1].row_length();
          for (int64_t r = 0; r < t[1].n_rows(); ++r) cpu::add(f32(t[1]) + r * n, f32(t[2]), f32(t[0]) + r * n, n);
        }
        return Status::ok();
      case OpCode_scale:
        cpu::scale(f32(t[1]), op.f[0], f32(t[0]), t[0].n_elements());
        return Status::ok();
      case OpCode_embedding:
        return cpu::embedding((t[1].dtype), t[1].data, t[1].n_rows(), t[1].row_length(),
                              static_cast<const int32_t*>(t[2].data), t[2].n_elements(), f32(t[0]));
      case OpCode_softmax:
        cpu::softmax(ctx_, f32(t[1]), f32(t[0]), t[1].n_rows(), t[1].row_length());
        return Status::ok();
      case OpCode_argmax: {
        const int64_t n = t[1].row_length();
        auto* out = static_cast<int32_t*>(t[0].data);
        for (int64_t r = 0; r < t[1].n_rows(); ++r) out[r] = static_cast<int32_t>(cpu::argmax(f32(t[1]) + r * n, n));
        return Status::ok();
      }
      case OpCode_copy:  // same dtype (quantized too) is a byte copy inside convert
        return cpu::convert((t[1].dtype), t[1].data, (t[0].dtype), t[0].data, t[0].n_elements());
      case OpCode_set_rows: {
        // Validated: row0 + src rows <= dst rows, and rows hold the same element count.
        const int64_t row_elements = t[0].n_elements() / t[0].shape[0];
        auto* dst = static_cast<uint8_t*>(t[0].data) + int64_t{op.i[0]} * int64_t(dtype_row_bytes(t[0].dtype, row_elements));
        return cpu::convert(t[1].dtype, t[1].data, t[0].dtype, dst, t[1].n_elements());  // same dtype: bytes
      }
      case OpCode_get_rows: {
        // Validated: row0 + dst rows <= src rows, and rows hold the same element count.
        const int64_t row_elements = t[1].n_elements() / t[1].shape[0];
        const auto* src = static_cast<const uint8_t*>(t[1].data) + int64_t{op.i[0]} * int64_t(dtype_row_bytes(t[1].dtype, row_elements));
        return cpu::convert(t[1].dtype, src, t[0].dtype, t[0].data, t[0].n_elements());
      }
      case OpCode_count: break;
    }
    return err("cpu::execute", "unknown op");
  }

 private:
  cpu::CpuContext ctx_;
  BackendCaps caps_;
  std::unordered_map<uint64_t, std::unique_ptr<void, FreeBytes>> owned_;  // runtime tensors, by id
};

}  // namespace

BackendProbe cpu_backend_probe() {
  BackendProbe probe;
  probe.available = true;
  probe.caps = cpu_caps(cpu::default_thread_count(), cpu::cpu_isa_best());
  return probe;
}

Result<std::unique_ptr<Backend>> cpu_backend_create(const BackendOptions& options) {
  return std::unique_ptr<Backend>(new CpuBackend(options.n_threads));
}

}  // namespace samepage
