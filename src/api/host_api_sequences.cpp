// Recorded sequences: ops validated once when recorded, parameter ranges found
// once at record_end, and a replay that checks only its parameters.
#include <algorithm>
#include <cstring>

#include "api/host_api.h"
#include "guest_call/guest_context.h"
#include "samepage/linear_memory.h"

namespace samepage {
namespace {

constexpr size_t kMaxSequences = 4096;
constexpr size_t kMaxRecordedOps = 1 << 18;  // across all of a guest's sequences

bool is_param(int32_t v) { return v <= SP_PARAM_BASE; }
int64_t param_slot(int32_t v) { return int64_t{SP_PARAM_BASE} - v; }

}  // namespace

int32_t HostApi::submit(const OpRequest& request) {
  if (!recording_) return run(request);
  Sequence& rec = recording_sequence_;
  if (!rec.broken.empty()) return fail(SP_ERR_STATE, "record: " + rec.broken);
  if (rec.ops.size() + n_recorded_ops_ >= kMaxRecordedOps)
    return fail(SP_ERR_NO_MEMORY, "record: more than " + std::to_string(kMaxRecordedOps) + " recorded ops");
  Tensor* t[4] = {};
  if (int32_t rc = resolve(request, t); rc != SP_OK) return rc;
  // Check handles and shapes now (parameters as 0, a value every range holds),
  // so mistakes show where they are made and replay need not check again.
  OpRequest probe = request;
  if (is_param(request.i[1])) return fail(SP_ERR_ARG, std::string(op_name(request.op)) + ": only positions may be SP_PARAM");
  if (is_param(probe.i[0])) probe.i[0] = 0;
  std::string message;
  if (int32_t rc = validate_op(probe, t, &message); rc != SP_OK) return fail(rc, message);
  if (int32_t rc = check_output(request, t); rc != SP_OK) return rc;
  if (is_param(request.i[0])) {
    const int64_t slot = param_slot(request.i[0]);
    if (slot >= SP_MAX_PARAMS)
      return fail(SP_ERR_ARG, "record: parameter " + std::to_string(slot) + " is past SP_MAX_PARAMS");
    ParamRange range;
    if (int32_t rc = op_param_range(request, t, &range, &message); rc != SP_OK) return fail(rc, message);
    if (rec.params.size() <= static_cast<size_t>(slot)) {
      if (!rec.charge.add((slot + 1 - rec.params.size()) * sizeof(ParamRange)))
        return fail(SP_ERR_NO_MEMORY, account_->bytes_refusal("record", sizeof(ParamRange)));
      rec.params.resize(static_cast<size_t>(slot) + 1);
    }
    ParamRange& p = rec.params[static_cast<size_t>(slot)];
    const ParamRange merged{p.used ? std::max(p.lo, range.lo) : range.lo, p.used ? std::min(p.hi, range.hi) : range.hi,
                            true};
    if (merged.lo > merged.hi)
      return fail(SP_ERR_ARG, std::string(op_name(request.op)) + ": parameter " + std::to_string(slot) +
                                  " would need to lie in [" + std::to_string(range.lo) + ", " + std::to_string(range.hi) +
                                  "] here and in [" + std::to_string(p.lo) + ", " + std::to_string(p.hi) +
                                  "] for earlier ops: no value fits both");
    p = merged;
  }
  if (!rec.charge.add(sizeof(Sequence::Op) + sizeof(uint64_t) * request.n_handles))
    return fail(SP_ERR_NO_MEMORY, account_->bytes_refusal("record", sizeof(Sequence::Op)));
  Sequence::Op op;
  op.request = request;
  for (int k = 0; k < request.n_handles; ++k) {
    op.ids[k] = t[k]->id;
    rec.tensor_ids.push_back(t[k]->id);
  }
  rec.ops.push_back(op);
  return SP_OK;
}

int32_t HostApi::record_begin() {
  if (recording_) return fail(SP_ERR_STATE, "record_begin: already recording");
  if (sequences_.size() >= kMaxSequences) return fail(SP_ERR_NO_MEMORY, "record_begin: too many sequences");
  if (next_sequence_ == INT32_MAX) return fail(SP_ERR_NO_MEMORY, "record_begin: sequence handles are spent");
  recording_ = true;
  recording_sequence_ = Sequence{};
  recording_sequence_.charge = BytesCharge(account_.get(), 0);
  return SP_OK;
}

int32_t HostApi::record_end() {
  if (!recording_) return fail(SP_ERR_STATE, "record_end: not recording");
  recording_ = false;
  Sequence rec = std::move(recording_sequence_);
  recording_sequence_ = Sequence{};
  if (!rec.broken.empty()) return fail(SP_ERR_STATE, "record_end: " + rec.broken);
  for (size_t k = 0; k < rec.params.size(); ++k)
    if (!rec.params[k].used)
      return fail(SP_ERR_ARG, "record_end: parameter " + std::to_string(k) + " is used by no op, but a later one is");
  std::sort(rec.tensor_ids.begin(), rec.tensor_ids.end());
  rec.tensor_ids.erase(std::unique(rec.tensor_ids.begin(), rec.tensor_ids.end()), rec.tensor_ids.end());
  rec.checked_epoch = protection_epoch_;
  // The sequence reaches the backend whole, once: operands resolved (every
  // tensor is live: a free would have broken the recording), parameters as slots.
  std::vector<SequenceOp> ops(rec.ops.size());
  for (size_t k = 0; k < rec.ops.size(); ++k) {
    const OpRequest& req = rec.ops[k].request;
    OpArgs& args = ops[k].args;
    args.op = req.op;
    args.f[0] = req.f[0];
    args.f[1] = req.f[1];
    for (int j = 0; j < 2; ++j) {
      args.i[j] = is_param(req.i[j]) ? 0 : req.i[j];
      ops[k].param_slot[j] = is_param(req.i[j]) ? static_cast<int32_t>(param_slot(req.i[j])) : -1;
    }
    for (int j = 0; j < req.n_handles; ++j) {
      Tensor* t = tensors_.find(req.handles[j]);
      args.t[j] = tensor_arg(*t);
      t->touched = true;
    }
  }
  auto compiled = backend_->compile(ops);
  if (!compiled) return fail(SP_ERR_BACKEND, "record_end: " + compiled.message());
  rec.compiled = std::move(compiled).value();
  n_recorded_ops_ += rec.ops.size();
  const int32_t handle = next_sequence_++;
  sequences_.emplace(handle, std::move(rec));
  return handle;
}

int32_t HostApi::replay(int32_t handle, uint32_t params_ptr, int32_t n_params) {
  if (recording_) return fail(SP_ERR_STATE, "replay: cannot replay while recording");
  auto it = sequences_.find(handle);
  if (it == sequences_.end())
    return fail(SP_ERR_HANDLE, "replay: " + std::to_string(handle) + " is not a recorded sequence");
  Sequence& seq = it->second;
  if (!seq.broken.empty()) return fail(SP_ERR_STATE, "replay: " + seq.broken);
  if (n_params < 0 || n_params > SP_MAX_PARAMS)
    return fail(SP_ERR_ARG, "replay: n_params must be 0 to " + std::to_string(SP_MAX_PARAMS));
  if (static_cast<size_t>(n_params) < seq.params.size())
    return fail(SP_ERR_ARG, "replay: sequence " + std::to_string(handle) + " takes " + std::to_string(seq.params.size()) +
                                " parameters, got " + std::to_string(n_params));
  int32_t params[SP_MAX_PARAMS];
  if (!seq.params.empty()) {
    const uint8_t* p = context_->guest_memory().range(params_ptr, seq.params.size() * 4);
    if (p == nullptr) return fail(SP_ERR_RANGE, "replay: params are outside guest memory");
    std::memcpy(params, p, seq.params.size() * 4);
  }
  for (size_t k = 0; k < seq.params.size(); ++k)
    if (params[k] < seq.params[k].lo || params[k] > seq.params[k].hi)
      return fail(SP_ERR_ARG, "replay: parameter " + std::to_string(k) + " is " + std::to_string(params[k]) +
                                  ", outside [" + std::to_string(seq.params[k].lo) + ", " +
                                  std::to_string(seq.params[k].hi) + "] that its ops allow");
  // Pages may have become read-only since recording: outputs are checked once per change.
  if (seq.checked_epoch != protection_epoch_) {
    Tensor* t[4] = {};
    for (size_t k = 0; k < seq.ops.size(); ++k) {
      if (int32_t rc = resolve(seq.ops[k].request, t); rc != SP_OK) return rc;
      if (int32_t rc = check_output(seq.ops[k].request, t); rc != SP_OK) {
        last_error_ = "replay: op " + std::to_string(k) + ": " + last_error_;
        return rc;
      }
    }
    seq.checked_epoch = protection_epoch_;
  }
  if (Status s = backend_->run(*seq.compiled, params, seq.params.size()); !s)
    return fail(SP_ERR_BACKEND, "replay: " + s.message());
  return SP_OK;
}

int32_t HostApi::sequence_free(int32_t handle) {
  if (recording_) return fail(SP_ERR_STATE, "sequence_free: cannot free while recording");
  auto it = sequences_.find(handle);
  if (it == sequences_.end())
    return fail(SP_ERR_HANDLE, "sequence_free: " + std::to_string(handle) + " is not a recorded sequence");
  n_recorded_ops_ -= it->second.ops.size();
  sequences_.erase(it);  // releases its charge
  return SP_OK;
}

void HostApi::invalidate_sequences(const Tensor& freed, int32_t handle) {
  const std::string why = "uses tensor " + std::to_string(handle) + " (id " + std::to_string(freed.id) + "), freed";
  if (recording_) {
    for (const Sequence::Op& op : recording_sequence_.ops)
      if (std::find(op.ids, op.ids + op.request.n_handles, freed.id) != op.ids + op.request.n_handles)
        recording_sequence_.broken = "the sequence being recorded " + why;
  }
  for (auto& [number, seq] : sequences_)
    if (seq.broken.empty() && std::binary_search(seq.tensor_ids.begin(), seq.tensor_ids.end(), freed.id)) {
      seq.broken = "sequence " + std::to_string(number) + " " + why;
      seq.compiled.reset();  // the backend's form names the tensor: drop it now
    }
}

}  // namespace samepage
