// The compute plane: backends are peers behind one interface (DESIGN.md §1.5).
// The CPU backend is the reference and the default. A backend never sees
// guest handles or offsets: the host API validates everything and hands it
// host pointers derived from checked descriptors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "samepage/dtype.h"
#include "samepage/linear_memory.h"
#include "samepage/status.h"

namespace samepage {

// How tensors reach the backend.
enum class MemoryMode {
  MemoryMode_shared,  // the backend computes on guest memory in place (zero-copy)
  MemoryMode_copy,    // WASI-NN style: inputs copied into backend buffers, results copied back
};
const char* memory_mode_name(MemoryMode mode);

// Capabilities are data: probed once, printed by `samepage devices`.
struct BackendCaps {
  std::string name;
  std::string device;                 // what it runs on, in words
  bool zero_copy_host_memory = false; // kernels can address guest memory in place
  bool device_memory = false;         // has memory of its own (device-resident tensors)
  bool native_replay = false;         // replays a recorded sequence as one submission
  std::vector<std::string> notes;     // one line each: what was probed and why it matters
};

// A validated operand: host pointer, dtype and shape (outermost first).
struct TensorArg {
  void* data = nullptr;
  DType dtype = DType_f32;
  int n_dims = 0;
  int64_t shape[4] = {1, 1, 1, 1};
  uint64_t n_bytes = 0;
  uint64_t id = 0;  // the storage's identity (TensorDesc::id), shared by reshaped aliases

  int64_t n_elements() const {
    int64_t n = 1;
    for (int i = 0; i < n_dims; ++i) n *= shape[i];
    return n;
  }
  int64_t row_length() const { return n_dims == 0 ? 1 : shape[n_dims - 1]; }
  int64_t n_rows() const { return row_length() == 0 ? 0 : n_elements() / row_length(); }
};

enum OpCode : int32_t {
  OpCode_matmul,     // t0 = t1 (m, k) f32 × t2 (n, k)ᵀ any weight dtype → (m, n) f32
  OpCode_rmsnorm,    // t0 = rmsnorm(t1 rows) * t2, f[0] = eps
  OpCode_rope,       // t0 = rope(t1 (tokens, heads, head_dim)), i[0] = pos, f = base, scale, i[1] = mode;
                     // t2: f32 (head_dim / 2) frequency factors (angle_i / t2[i]), or data null: none
  OpCode_attention,  // t0 = attention(q t1, k t2, v t3), i[0] = pos0
  OpCode_silu_mul,   // t0 = silu(t1) * t2
  OpCode_add,        // t0 = t1 + t2; t2 may be one row of t1's row length, added to every row
  OpCode_scale,      // t0 = t1 * f[0]
  OpCode_embedding,  // t0 (tokens, dim) f32 = rows t2 (i32 tokens) of table t1
  OpCode_softmax,    // t0 = softmax(t1 rows)
  OpCode_argmax,     // t0 (i32, n_rows of t1)[row] = argmax(t1 row)
  OpCode_copy,       // t0 = convert(t1)
  OpCode_set_rows,   // t0 rows [i[0], i[0] + t1 rows) = convert(t1); f32/f16/bf16 both sides; a row: one outermost index
  OpCode_get_rows,   // t0 = convert(t1 rows [i[0], i[0] + t0 rows)); f32/f16/bf16 both sides
  OpCode_count,
};
const char* op_name(OpCode op);

struct OpArgs {
  OpCode op = OpCode_count;
  TensorArg t[4];
  float f[2] = {0, 0};
  int32_t i[2] = {0, 0};
};

// Where a tensor's authoritative bytes live (DESIGN.md §3).
enum Residency : int32_t {
  Residency_shared,       // guest memory, coherent at every host-call boundary
  Residency_const,        // guest memory the guest promised not to write (weights): upload once
  Residency_device,       // the backend's (runtime tensors; SP_DEVICE views between syncs)
  Residency_file_mapped,  // read-only file pages mapped into guest memory
};
const char* residency_name(Residency residency);

// A tensor as the backend sees it when it is created: an identity never
// reused in the guest's life (key device caches on it, not on addresses or
// handles), its type and shape, and where it lives.
struct TensorDesc {
  uint64_t id = 0;
  DType dtype = DType_f32;
  int n_dims = 0;
  int64_t shape[4] = {1, 1, 1, 1};
  uint64_t n_bytes = 0;
  Residency residency = Residency_shared;
  void* guest_data = nullptr;  // a view's guest bytes (checked); null for runtime tensors
  // A file-mapped view (inside one mapping): the file, and where in it the
  // view's bytes start. Unknown (file.known() false) otherwise.
  FileIdentity file;
  uint64_t file_offset = 0;
};

// One op of a recorded sequence: operands resolved, and which scalars are
// replay parameters (read from the parameter block at run time).
struct SequenceOp {
  OpArgs args;
  int32_t param_slot[2] = {-1, -1};  // args.i[k] = params[param_slot[k]] when >= 0
};

// One counter a backend keeps about itself (what time to first token is
// spent on, ...): a snake_case name whose suffix is its unit (_s, _bytes,
// _count) and its value.
struct BackendStat {
  std::string name;
  double value = 0;
};
// {"backend_stats":{"backend":NAME,"<name>":value,...}} on one line: names
// reduced to [a-z0-9_], values not finite written as null.
std::string backend_stats_json(const std::string& backend, const std::vector<BackendStat>& stats);

// What compile() returns: the backend's own form of a sequence (a CUDA graph,
// a command buffer, or the ops themselves), run many times.
class CompiledSequence {
 public:
  virtual ~CompiledSequence() = default;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const BackendCaps& caps() const = 0;

  // "Use this host memory": lets the backend address [base, base + n_bytes)
  // in place. May fail; the caller then falls back to the copy path.
  virtual Status use_host_memory(void* base, uint64_t n_bytes) = 0;

  // A tensor is born: returns the address kernels get for it. Runtime tensors
  // (guest_data null) get zeroed memory the backend allocates (HBM on a GPU);
  // views get guest_data itself, or a backend copy (copy mode staging, a
  // device copy of a const tensor). The default serves views in place only.
  virtual Result<void*> tensor_create(const TensorDesc& tensor);
  // The tensor is gone: drop whatever was kept for it. No op names it again.
  virtual void tensor_release(uint64_t id);
  // A runtime tensor's bytes, copied out (a snapshot) or in (a restore),
  // after pending work: out gets bytes [offset, offset + n_bytes) of it (a
  // snapshot streams a large tensor in pieces). The defaults copy at the
  // tensor's address: right for a backend whose runtime tensors are host
  // memory (cpu); one with device_memory gets an error from them until it
  // overrides both.
  virtual Status tensor_read_range(const TensorArg& tensor, uint64_t offset, uint64_t n_bytes, void* out);
  Status tensor_read(const TensorArg& tensor, void* out) { return tensor_read_range(tensor, 0, tensor.n_bytes, out); }
  virtual Status tensor_write(const TensorArg& tensor, const void* in);
  // Brings the guest bytes of a device-resident view up to date.
  virtual Status tensor_sync(uint64_t id) { (void)id; return Status::ok(); }

  // Runs one op; outputs are visible at the pointers when it returns (or after sync).
  virtual Status execute(const OpArgs& op) = 0;
  // A recorded sequence, whole, once; then run() with a parameter block as
  // often as the guest replays it. Parameters were range-checked by the
  // caller. The defaults keep the ops and loop over execute().
  virtual Result<std::unique_ptr<CompiledSequence>> compile(const std::vector<SequenceOp>& ops);
  virtual Status run(CompiledSequence& sequence, const int32_t* params, size_t n_params);

  // Something happened to guest memory (growth, file mapping — announced
  // before the pages change —, protection, release of the reservation).
  virtual void memory_event(const MemoryEvent& event) { (void)event; }
  // Waits for all submitted work.
  virtual Status sync() = 0;
  // Its counters so far (none by default); read between host calls.
  virtual std::vector<BackendStat> stats() const { return {}; }
};

// The backends samepage knows, in one list (backends/backend_registry.cpp):
// probing says what a backend can do without creating it (listing devices
// creates no GPU context); one that is not in this build says so, by name.
// How a backend is made; each backend takes what applies to it.
struct BackendOptions {
  int n_threads = 0;  // CPU worker threads counting the caller (cpu); 0: the CPUs this process may run on
  // Replay a recorded sequence as one native submission (cuda: a CUDA graph);
  // false: op by op, the path kept to measure what replay gains.
  bool native_replay = true;
  // cuda: programmatic dependent launch (each kernel scheduled while the one
  // before it drains); false measures what it gains.
  bool overlap_launches = true;
  // cuda: a replayed sequence's runs of ops that one kernel can do (the
  // residual add with the next norm, rope with the cache stores, products
  // of one x) are launched as one; false measures what that gains.
  bool fuse_ops = true;
};
constexpr int kMaxBackendThreads = 1024;  // a bound on n_threads: each is an OS thread

struct BackendProbe {
  bool available = false;
  BackendCaps caps;         // when available
  std::string unavailable;  // why not, in one line
};
struct BackendEntry {
  const char* name;
  BackendProbe (*probe)();
  Result<std::unique_ptr<Backend>> (*create)(const BackendOptions& options);
};
const std::vector<BackendEntry>& backend_registry();
std::vector<std::string> backend_names();
Result<std::unique_ptr<Backend>> create_backend(const std::string& name, const BackendOptions& options = {});

}  // namespace samepage
