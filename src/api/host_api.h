// The host side of the "samepage" import module for one guest: tensor
// handles over guest memory, validation of every call, dispatch to the
// backend (in place; copy mode is a layer over the backend), recorded
// sequences, and the last-error message. A bad call gets an error code; it
// never reaches the backend.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/tensor_table.h"
#include "samepage_abi.h"
#include "samepage/backend.h"

namespace samepage {

class LinearMemory;
struct GuestContext;

// One op as the guest asked for it: handles and scalars, not yet validated.
struct OpRequest {
  OpCode op = OpCode_count;
  int32_t handles[4] = {0, 0, 0, 0};
  int n_handles = 0;
  float f[2] = {0, 0};
  int32_t i[2] = {0, 0};   // i[0] may hold SP_PARAM(k) while recording
};

// A replay parameter's allowed values, the intersection over the ops that use it.
struct ParamRange {
  int64_t lo = 0;
  int64_t hi = INT32_MAX;
  bool used = false;
};

// A recorded sequence: its ops with the identities of their tensors (never
// reused, so a freed and recycled handle is caught), the parameter ranges
// found at record time, and why it can no longer run, once it cannot.
struct Sequence {
  struct Op {
    OpRequest request;
    uint64_t ids[4] = {0, 0, 0, 0};
  };
  std::vector<Op> ops;
  std::vector<ParamRange> params;   // one per parameter slot the ops name
  std::vector<uint64_t> tensor_ids; // sorted, for invalidation on free
  std::string broken;               // non-empty: replay fails with this
  uint64_t checked_epoch = 0;       // outputs checked writable at this protection epoch
  std::unique_ptr<CompiledSequence> compiled;  // the backend's form, compiled once at record_end
  BytesCharge charge;               // ops and bookkeeping, charged to the guest
};

// What a snapshot keeps of the API between calls: the handle numbering,
// every tensor's description and runtime tensors' bytes, the ids of
// recorded sequences and the ops of the live ones. A restore records those
// again (the guest's own checks, the backend's own compile: a CUDA graph
// does not travel); a sequence without ops (a freed tensor broke it, or an
// older snapshot) comes back dropped: replaying it answers SP_ERR_STATE.
struct HostApiState {
  struct Entry {
    int32_t handle = 0;
    // A reshaped alias (sp_tensor_reshape): the lowest handle on the same
    // bytes, restored first; 0 for that handle itself or a tensor alone.
    int32_t alias_of = 0;
    bool is_view = false;
    int32_t dtype = 0;
    int32_t n_dims = 0;
    int64_t shape[4] = {1, 1, 1, 1};
    int32_t flags = 0;
    uint64_t guest_offset = 0;       // views
    uint64_t n_bytes = 0;
    // Runtime tensors that are no alias. Saved: read copies bytes [offset,
    // offset + n) of the tensor from its backend (valid until the API's
    // next call), so a snapshot streams them without a host copy of each;
    // read_tensor_bytes() copies them all into bytes. Restored: data holds
    // n_bytes (or bytes.data()).
    std::function<Status(uint64_t offset, uint64_t n, void* out)> read;
    std::vector<uint8_t> bytes;
    const uint8_t* data = nullptr;
  };
  // Fills bytes and data of every entry that has only read (a restore
  // straight from a saved state, without a snapshot file between).
  Status read_tensor_bytes();
  uint32_t n_slots = 0;
  int32_t next_sequence = 1;
  std::vector<int32_t> free_handles;
  std::vector<int32_t> sequences;
  struct Recorded {
    int32_t id = 0;
    std::vector<OpRequest> ops;  // as submitted; i[0] may be an SP_PARAM placeholder
  };
  std::vector<Recorded> recorded;  // the live ones among sequences, ascending
  std::vector<Entry> tensors;
};

class HostApi {
 public:
  // Host allocations for the guest are charged to account (null: one of the
  // API's own with the default limits); its limits bound const ranges too.
  HostApi(std::unique_ptr<Backend> backend, MemoryMode mode, std::shared_ptr<GuestAccount> account = nullptr);
  ~HostApi();
  // Binds the guest's memory once it exists (after instantiation).
  void attach(GuestContext* context, LinearMemory* memory);

  int32_t tensor_view(uint32_t ptr, int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags);
  int32_t tensor_alloc(int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags);
  int32_t tensor_free(int32_t handle);
  // A new handle on handle's storage with another shape of the same bytes.
  int32_t tensor_reshape(int32_t handle, int32_t n_dims, uint32_t shape_ptr);
  int32_t sync(int32_t handle);
  int32_t tensor_info(int32_t handle, uint32_t out_ptr);
  int32_t stats(uint32_t out_ptr);
  int32_t last_error(uint32_t buf_ptr, int32_t buf_len);

  // Runs the op now, or appends it to the sequence being recorded.
  int32_t submit(const OpRequest& request);
  int32_t record_begin();
  int32_t record_end();
  int32_t replay(int32_t sequence, uint32_t params_ptr, int32_t n_params);
  int32_t sequence_free(int32_t sequence);

  // Maps a guest-opened file read-only at guest_ptr (context->readable_file
  // resolves the fd); unmap_file undoes it.
  int32_t map_file(int32_t fd, uint64_t file_offset, uint32_t n_bytes, uint32_t guest_ptr);
  int32_t unmap_file(uint32_t guest_ptr, uint32_t n_bytes);

  // Snapshots, between calls (host_api_snapshot.cpp). save_state refuses
  // while a sequence is being recorded. restore_state fills an API that has
  // no tensors or sequences yet, each tensor through the same checks as the
  // guest's own calls (range, alignment, const protection, the guest's
  // limits); on error the API is left to be destroyed.
  Result<HostApiState> save_state();
  Status restore_state(const HostApiState& state);

  // Host imports answer SP_ERR_STATE until the guest's memory exists.
  bool attached() const { return context_ != nullptr; }
  Backend& backend() { return *backend_; }
  GuestAccount& account() { return *account_; }
  MemoryMode memory_mode() const { return mode_; }
  const std::string& last_error_message() const { return last_error_; }

 private:
  int32_t fail(int32_t code, std::string message);
  // Validates a request and runs it now.
  int32_t run(const OpRequest& request);
  // Resolves a request's handles; SP_ERR_HANDLE names the first dead one.
  int32_t resolve(const OpRequest& request, Tensor* t[4]);
  // restore_state: a saved sequence recorded again under its id.
  Status record_again(int32_t id, const std::vector<OpRequest>& ops);
  // Runs an op whose operands were validated (now, or when recorded).
  int32_t dispatch(const OpRequest& request, Tensor* const t[4]);
  // Fails when the op's output lies in memory the host must not write.
  int32_t check_output(const OpRequest& request, Tensor* const t[4]);
  // A freed tensor breaks the sequences (and the recording) that use it.
  void invalidate_sequences(const Tensor& freed, int32_t handle);
  int32_t read_shape(int32_t n_dims, uint32_t shape_ptr, int64_t shape[4]);
  // Checks dtype, flags and shape (read from guest memory) into *t.
  int32_t describe_tensor(const char* what, int32_t dtype, int32_t n_dims, uint32_t shape_ptr, int32_t flags, Tensor* t);
  // Host or device bytes a view of n_bytes costs the guest's budget.
  uint64_t view_charge_bytes(uint64_t n_bytes) const;
  // A view's const protection (whole pages write-protected) and whether it
  // lies in a file mapping; the error says why protection was refused.
  Status protect_view(Tensor* t);
  // The file mapping that holds a view's bytes whole, or null.
  const FileMapping* mapping_of(const Tensor& t) const;
  // Tells the backend a tensor exists; sets t->backend_data.
  int32_t create_in_backend(const char* what, Tensor* t);
  // The operand the backend sees for a tensor.
  static TensorArg tensor_arg(const Tensor& t);
  // Fails when the host would write bytes of a const view there, protected or not.
  int32_t check_not_const(const char* what, uint64_t offset, uint64_t n_bytes);
  bool overlaps_unprotected_const(uint64_t offset, uint64_t n_bytes);

  std::shared_ptr<GuestAccount> account_;
  std::unique_ptr<Backend> backend_;
  MemoryMode mode_;
  GuestContext* context_ = nullptr;
  LinearMemory* memory_ = nullptr;
  TensorTable tensors_;
  std::string last_error_;
  uint64_t next_tensor_id_ = 1;  // tensor identities, never reused in the guest's life
  bool recording_ = false;
  Sequence recording_sequence_;
  std::map<int32_t, Sequence> sequences_;
  int32_t next_sequence_ = 1;
  size_t n_recorded_ops_ = 0;  // in sequences_, against the cap
  // Bumped when guest pages become read-only (const views, file mappings):
  // a sequence re-checks its outputs once after a change.
  uint64_t protection_epoch_ = 1;
  uint64_t staged_bytes_ = 0;
  size_t memory_listener_ = 0;  // our LinearMemory event listener, removed when we go
  size_t n_unprotected_const_ = 0;  // const views that are not whole pages
};

// Checks an op's operands (dtypes, shapes, ranks, overlap) and scalars.
// Returns SP_OK or an error code with *message set.
int32_t validate_op(const OpRequest& request, Tensor* const tensors[4], std::string* message);
// The values a replay parameter in the op's i[0] may take, from its shapes;
// SP_ERR_ARG with *message when the op takes no parameter there.
int32_t op_param_range(const OpRequest& request, Tensor* const tensors[4], ParamRange* range, std::string* message);

}  // namespace samepage
