#include "backends/cuda/residency.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <tuple>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/gemv_layout.h"

namespace samepage::cuda {

TensorStore::TensorStore(HostRegistration& registration) : registration_(registration), id_([] {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}()) {}

TensorStore::~TensorStore() {
  for (auto& [id, r] : records_)
    if (r.hbm != nullptr && r.copy == nullptr) cudaFree(r.hbm);
  // const_copies_ drops its holds: a copy no other store holds is freed.
}

TensorStore::ConstCopy::~ConstCopy() {
  cudaFree(hbm);  // waits for work that may still read it
  if (gemv != nullptr) cudaFree(gemv);
  if (ready != nullptr) cudaEventDestroy(ready);
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The same bytes of the same file on one device: a key every store of the
// process can find a copy under (the copies themselves are held by the
// stores; the registry only finds them).
struct FileBytes {
  int device;
  FileIdentity file;
  uint64_t offset, n_bytes;
  auto tie() const {
    return std::tie(device, file.device, file.inode, file.size, file.mtime_ns, file.ctime_ns, offset, n_bytes);
  }
  bool operator<(const FileBytes& o) const { return tie() < o.tie(); }
};
template <typename Copy>
struct FileCopies {
  std::mutex lock;
  std::map<FileBytes, std::weak_ptr<Copy>> by_bytes;
};
}  // namespace

// The copy of t's bytes: another store's, found under the file's key (the
// same bytes of the same file on this device), or a new one. The new one is
// allocated (zeroed, waited for) outside the registry's lock, so a store
// making a copy does not hold up the others; two stores that made one of the
// same bytes at once keep the first registered (the other is freed here).
Result<std::shared_ptr<TensorStore::ConstCopy>> TensorStore::const_copy_for(const TensorDesc& t) {
  // Never destroyed (a guest thread may outlive static destruction); it holds no copy, only finds them.
  static auto* const registry = new FileCopies<ConstCopy>;
  FileBytes key{};
  auto registered = [&]() -> std::shared_ptr<ConstCopy> {  // under the registry's lock
    auto it = registry->by_bytes.find(key);
    return it == registry->by_bytes.end() ? nullptr : it->second.lock();
  };
  const bool by_file = t.file.known();
  if (by_file) {
    if (cudaGetDevice(&key.device) != cudaSuccess) {
      cudaGetLastError();
      return err("cuda::tensor_create", "no current device");
    }
    key.file = t.file;
    key.offset = t.file_offset;
    key.n_bytes = t.n_bytes;
    std::lock_guard<std::mutex> hold(registry->lock);
    if (std::shared_ptr<ConstCopy> found = registered()) {
      shared_bytes_ += t.n_bytes;
      return found;
    }
  }
  auto p = allocate(t.n_bytes);
  if (!p) return p.status();
  auto copy = std::make_shared<ConstCopy>();
  copy->hbm = *p;
  if (!by_file) return copy;
  std::lock_guard<std::mutex> hold(registry->lock);
  if (std::shared_ptr<ConstCopy> found = registered()) {  // made meanwhile by another store
    allocated_bytes_ -= round_up_256(t.n_bytes);
    shared_bytes_ += t.n_bytes;
    return found;  // ours is freed as it goes out of scope
  }
  copy->shared_by_file = true;
  for (auto it = registry->by_bytes.begin(); it != registry->by_bytes.end();)  // copies since freed
    it = it->second.expired() ? registry->by_bytes.erase(it) : std::next(it);
  registry->by_bytes[key] = copy;
  return copy;
}

Result<void*> TensorStore::allocate(uint64_t n_bytes) {
  const auto started = std::chrono::steady_clock::now();
  void* p = nullptr;
  const uint64_t rounded = round_up_256(n_bytes);
  if (cudaError_t e = cudaMalloc(&p, rounded); e != cudaSuccess) {
    cudaGetLastError();
    return cuda_status(e, "cuda::tensor_create", ("cudaMalloc of " + std::to_string(n_bytes) + " bytes").c_str());
  }
  // Memory handed to a guest is zeroed (padding too: vector loads may read
  // it), and waited for: cudaMemset goes to the legacy stream, which the
  // backend's non-blocking stream is not ordered after.
  cudaError_t e = cudaMemset(p, 0, rounded);
  if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
  if (e != cudaSuccess) {
    cudaFree(p);
    return cuda_status(e, "cuda::tensor_create", "cudaMemset");
  }
  alloc_seconds_ += seconds_since(started);
  allocated_bytes_ += rounded;
  return p;
}

Status TensorStore::copy(void* dst, const void* src, uint64_t n_bytes, cudaMemcpyKind kind, cudaStream_t s,
                         const char* where) {
  const void* host = kind == cudaMemcpyHostToDevice ? src : dst;
  cudaError_t e = cudaSuccess;
  registration_.for_each_segment(host, n_bytes, [&](uint64_t at, uint64_t len) {
    if (e == cudaSuccess)
      e = cudaMemcpyAsync(static_cast<uint8_t*>(dst) + at, static_cast<const uint8_t*>(src) + at, len, kind, s);
  });
  if (e != cudaSuccess) cudaGetLastError();
  return cuda_status(e, where, "cudaMemcpyAsync");
}

Result<void*> TensorStore::create(const TensorDesc& t) {
  Record r;
  r.host = t.guest_data;
  r.n_bytes = t.n_bytes;
  const bool in_guest = t.guest_data != nullptr && registration_.contains(t.guest_data, t.n_bytes);
  const bool is_const = t.residency == Residency_const || t.residency == Residency_file_mapped;
  if (t.guest_data == nullptr) r.where = Where::runtime;
  else if (is_const) r.where = Where::resident;  // staging too: copied in before the first op that reads it
  else if (!in_guest) r.where = Where::staged;
  else if (t.residency == Residency_device) r.where = Where::device;
  else r.where = Where::in_place;
  if (r.where == Where::resident && in_guest) {
    Held& held = const_copies_[{t.guest_data, t.n_bytes}];
    if (held.copy == nullptr) {
      auto c = const_copy_for(t);
      if (!c) {
        const_copies_.erase({t.guest_data, t.n_bytes});
        return c.status();
      }
      held.copy = std::move(c).value();
    }
    ++held.n_views;
    r.copy = held.copy.get();
    r.hbm = held.copy->hbm;
  } else if (r.where != Where::in_place) {
    auto p = allocate(t.n_bytes);
    if (!p) return p.status();
    r.hbm = *p;
  }
  if (r.where == Where::device) {  // the guest's bytes now are the tensor's first value
    Status s = copy(r.hbm, r.host, r.n_bytes, cudaMemcpyHostToDevice, nullptr, "cuda::tensor_create");
    if (s) s = cuda_status(cudaStreamSynchronize(nullptr), "cuda::tensor_create", "upload of a device view");
    if (!s) {
      cudaFree(r.hbm);
      return s;
    }
  }
  void* answer = r.where == Where::runtime || r.where == Where::device ? r.hbm : r.host;
  records_[t.id] = r;
  // A const view answers its guest address: that is what kernels would read
  // if it were not resident, and the guest's bytes are never copied per call.
  return answer;
}

void TensorStore::release(uint64_t id) {
  auto it = records_.find(id);
  if (it == records_.end()) return;
  Record& r = it->second;
  if (r.copy != nullptr) {
    auto held = const_copies_.find({r.host, r.n_bytes});
    if (held != const_copies_.end() && --held->second.n_views == 0) {
      {
        std::lock_guard<std::mutex> hold(r.copy->lock);
        if (r.copy->gemv_maker == id_) {  // counted here: not here any more
          gemv_layout_bytes_ -= r.copy->gemv_bytes;
          r.copy->gemv_maker = 0;
        }
      }
      ready_here_.erase(r.copy);
      const_copies_.erase(held);  // the copy is freed here unless another store holds it
    }
  } else if (r.hbm != nullptr) {
    cudaFree(r.hbm);
  }
  records_.erase(it);
}

Result<void*> TensorStore::prepare(const TensorArg& a, bool input, cudaStream_t s, bool copy_in) {
  auto it = records_.find(a.id);
  if (it == records_.end()) return err("cuda::execute", "tensor " + std::to_string(a.id) + " is unknown to the backend");
  Record& r = it->second;
  switch (r.where) {
    case Where::in_place:
      if (Status st = registration_.ensure(r.host, r.n_bytes); !st) return st;
      if (!input) return r.host;
      if (r.hbm == nullptr) {
        auto p = allocate(r.n_bytes);
        if (!p) return p.status();
        r.hbm = *p;
      }
      if (copy_in)
        if (Status st = copy(r.hbm, r.host, r.n_bytes, cudaMemcpyHostToDevice, s, "cuda::dma_in"); !st) return st;
      return r.hbm;
    case Where::resident:
      // Its HBM copy is the guest's promise (and may serve other guests): never a kernel's output.
      if (!input) return err("cuda::execute", "tensor " + std::to_string(a.id) + " is const or file-backed: not an output");
      if (r.copy != nullptr && !(r.copy->shared_by_file && ready_here_.count(r.copy) != 0)) {
        ConstCopy& c = *r.copy;
        std::lock_guard<std::mutex> hold(c.lock);
        if (!c.uploaded) {
          if (Status st = upload_const(r, s); !st) return st;
          if (c.shared_by_file) {  // for the other stores: when its bytes are there
            cudaEvent_t ready = nullptr;
            SP_CUDA_TRY("cuda::upload", cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
            if (cudaError_t e = cudaEventRecord(ready, s); e != cudaSuccess) {
              cudaEventDestroy(ready);
              return cuda_status(e, "cuda::upload", "cudaEventRecord");
            }
            c.ready = ready;
          }
          c.uploaded = true;
        } else if (c.shared_by_file) {  // another store's upload, on its stream: this stream's work waits for it
          SP_CUDA_TRY("cuda::upload", cudaStreamWaitEvent(s, c.ready, 0));
        }
        if (c.shared_by_file) ready_here_.insert(&c);
      } else if (r.copy == nullptr && !r.uploaded_alone) {
        if (Status st = upload_const(r, s); !st) return st;
        r.uploaded_alone = true;
      }
      return r.hbm;
    case Where::staged:
      if (copy_in) SP_CUDA_TRY("cuda::copy_in", cudaMemcpyAsync(r.hbm, r.host, r.n_bytes, cudaMemcpyHostToDevice, s));
      return r.hbm;
    case Where::device:
    case Where::runtime:
      return r.hbm;
  }
  return err("cuda::execute", "bad residency");
}

bool TensorStore::is_in_place(uint64_t id) const {
  auto it = records_.find(id);
  return it != records_.end() && it->second.where == Where::in_place;
}

// The caller sized the copy's destination by a's bytes: a record of
// another size (an alias the host API should not have made) is refused.
Result<const TensorStore::Record*> TensorStore::registered_in_place(const TensorArg& a) {
  auto found = find_sized(a, "cuda::dma_in");
  if (!found) return found.status();
  const Record& r = **found;
  if (r.where != Where::in_place)
    return err("cuda::dma_in", "tensor " + std::to_string(a.id) + " is not a shared view in guest memory");
  if (Status st = registration_.ensure(r.host, r.n_bytes); !st) return st;
  return &r;
}

Status TensorStore::register_in_place(const TensorArg& a) { return registered_in_place(a).status(); }

Status TensorStore::dma_in_place(const TensorArg& a, void* dst, cudaStream_t s) {
  auto r = registered_in_place(a);
  if (!r) return r.status();
  return copy(dst, (*r)->host, (*r)->n_bytes, cudaMemcpyHostToDevice, s, "cuda::dma_in");
}

// Once per const view (or copy): a large one not registered through pinned
// staging (staged_upload.h), the rest by the driver (pinned rate where its
// chunk is registered; a view in a chunk that ops use joins its registered
// run first, so its bytes move by DMA in place: no staging buffers). The time counted is the host's: the last DMA's tail
// (under 1 ms) is the next op's.
Status TensorStore::upload_const(const Record& r, cudaStream_t s) {
  const auto started = std::chrono::steady_clock::now();
  if (r.n_bytes >= StagedUpload::kMinBytes && !registration_.registered(r.host, r.n_bytes) &&
      !registration_.extend(r.host, r.n_bytes)) {
    if (Status st = staged_.upload(r.hbm, r.host, r.n_bytes, s); !st) return st;
    staged_bytes_ += r.n_bytes;
  } else if (Status st = copy(r.hbm, r.host, r.n_bytes, cudaMemcpyHostToDevice, s, "cuda::upload"); !st) {
    return st;
  }
  upload_seconds_ += seconds_since(started);
  uploaded_bytes_ += r.n_bytes;
  return Status::ok();
}

Status TensorStore::write_back(const TensorArg& out, cudaStream_t s) {
  auto it = records_.find(out.id);
  if (it == records_.end() || it->second.where != Where::staged) return Status::ok();
  const Record& r = it->second;
  return cuda_status(cudaMemcpyAsync(r.host, r.hbm, r.n_bytes, cudaMemcpyDeviceToHost, s), "cuda::copy_out",
                     "cudaMemcpyAsync");
}

bool TensorStore::capturable(uint64_t id) const {
  auto it = records_.find(id);
  return it != records_.end() && it->second.where != Where::staged;
}

bool TensorStore::in_device_memory(uint64_t id) const {
  auto it = records_.find(id);
  if (it == records_.end()) return false;
  const Where w = it->second.where;
  return w == Where::runtime || w == Where::device || w == Where::resident;
}

Result<const void*> TensorStore::gemv_layout(const TensorArg& a, cudaStream_t s, bool create) {
  auto it = records_.find(a.id);
  if (it == records_.end() || it->second.where != Where::resident || it->second.copy == nullptr)
    return static_cast<const void*>(nullptr);
  ConstCopy& c = *it->second.copy;
  std::lock_guard<std::mutex> hold(c.lock);
  const int64_t k = a.row_length(), n_rows = a.n_rows();
  if (!c.uploaded || !gemv_layout_applies(a.dtype, k) || uint64_t(n_rows) * dtype_row_bytes(a.dtype, k) != it->second.n_bytes)
    return static_cast<const void*>(nullptr);
  if (c.gemv != nullptr)
    return static_cast<const void*>(c.gemv_dtype == a.dtype && c.gemv_k == k ? c.gemv : nullptr);
  if (!create || c.gemv_refused) return static_cast<const void*>(nullptr);
  // A second copy, not charged to the guest: made only while a reserve of
  // HBM stays free, so a model that fits resident still runs (on the
  // GGUF-layout kernels) when the layouts of all its weights would not.
  const uint64_t n_bytes = uint64_t(n_rows) * gemv_layout_row_bytes(a.dtype, k);
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess || free_bytes < n_bytes + kGemvLayoutReserveBytes) {
    cudaGetLastError();
    c.gemv_refused = true;
    return static_cast<const void*>(nullptr);
  }
  auto p = allocate(n_bytes);
  if (!p) {
    c.gemv_refused = true;
    return static_cast<const void*>(nullptr);
  }
  if (Status st = launch_to_gemv_layout(s, a.dtype, c.hbm, *p, n_rows, k); !st) {
    cudaFree(*p);
    return st;
  }
  if (Status st = cuda_status(cudaStreamSynchronize(s), "cuda::gemv_layout", "rewrite"); !st) {
    cudaFree(*p);
    return st;
  }
  c.gemv = *p;
  c.gemv_dtype = a.dtype;
  c.gemv_k = k;
  c.gemv_bytes = n_bytes;
  c.gemv_maker = id_;
  gemv_layout_bytes_ += n_bytes;
  return static_cast<const void*>(c.gemv);
}

bool TensorStore::is_resident(uint64_t id) const {
  auto it = records_.find(id);
  return it != records_.end() && it->second.where == Where::resident;
}

Status TensorStore::sync_to_guest(uint64_t id) {
  auto it = records_.find(id);
  if (it == records_.end() || it->second.where != Where::device) return Status::ok();
  const Record& r = it->second;
  if (Status s = copy(r.host, r.hbm, r.n_bytes, cudaMemcpyDeviceToHost, nullptr, "cuda::sync"); !s) return s;
  return cuda_status(cudaStreamSynchronize(nullptr), "cuda::sync", "cudaStreamSynchronize");
}

Result<TensorStore::Record*> TensorStore::find_sized(const TensorArg& a, const char* where) {
  auto it = records_.find(a.id);
  if (it == records_.end()) return err(where, "tensor " + std::to_string(a.id) + " is unknown to the backend");
  if (a.n_bytes != it->second.n_bytes)
    return err(where, "tensor " + std::to_string(a.id) + " holds " + std::to_string(it->second.n_bytes) +
                          " bytes, not " + std::to_string(a.n_bytes));
  return &it->second;
}

Status TensorStore::read(const TensorArg& a, uint64_t offset, uint64_t n_bytes, void* out, cudaStream_t s) {
  const char* where = "cuda::tensor_read";
  auto found = find_sized(a, where);
  if (!found) return found.status();
  const Record& r = **found;
  if (offset > r.n_bytes || n_bytes > r.n_bytes - offset)
    return err(where, "bytes past the end of tensor " + std::to_string(a.id));
  const bool on_device = r.where == Where::runtime || r.where == Where::device;
  // Views: kernels write in-place ones at their guest address, so the host
  // bytes are current once the stream is idle; a staged output is copied
  // back by write_back on the same stream.
  if (on_device)
    if (Status st = copy(out, static_cast<const uint8_t*>(r.hbm) + offset, n_bytes, cudaMemcpyDeviceToHost, s, where); !st)
      return st;
  if (Status st = cuda_status(cudaStreamSynchronize(s), where, "cudaStreamSynchronize"); !st) return st;
  if (!on_device) std::memcpy(out, static_cast<const uint8_t*>(r.host) + offset, n_bytes);
  return Status::ok();
}

Status TensorStore::write(const TensorArg& a, const void* in, cudaStream_t s) {
  const char* where = "cuda::tensor_write";
  auto found = find_sized(a, where);
  if (!found) return found.status();
  Record& r = **found;
  if (r.where == Where::resident) return err(where, "tensor " + std::to_string(a.id) + " is const: its bytes are the guest's");
  const bool on_device = r.where == Where::runtime || r.where == Where::device;
  // Nothing in flight may still read or write the bytes being replaced.
  if (Status st = cuda_status(cudaStreamSynchronize(s), where, "cudaStreamSynchronize"); !st) return st;
  if (!on_device) {
    std::memcpy(r.host, in, r.n_bytes);
    return Status::ok();
  }
  if (Status st = copy(r.hbm, in, r.n_bytes, cudaMemcpyHostToDevice, s, where); !st) return st;
  return cuda_status(cudaStreamSynchronize(s), where, "cudaStreamSynchronize");
}

}  // namespace samepage::cuda
