// The model's side of a session: its content hash, and its K/V rows read
// out and written back through the host API (the caches may live on a GPU).
#include <cstring>
#include <functional>

#include "model.h"
#include "sha256.h"

namespace llm {
namespace {

Status fail(const std::string& what) { return Status::error("[session] " + what); }
Status host_fail(const std::string& what) { return fail(what + ": " + sp::Status::last_error()); }

}  // namespace

Result<std::string> Model::content_hash(const std::string& scope) const {
  const auto* bytes = static_cast<const uint8_t*>(mapping_.data());
  if (scope != "file" && scope != "header") return fail("unknown hash scope '" + scope + "' (header or file)");
  std::string& cached = scope == "file" ? hash_file_ : hash_header_;
  if (cached.empty()) {
    const uint64_t t0 = now_ns();
    cached = sha256_hex(bytes, scope == "file" ? mapping_.n_bytes() : size_t(gguf_.data_offset()));
    hash_ms_ += double(now_ns() - t0) / 1e6;
  }
  return cached;
}

Status Model::read_kv(const std::vector<uint8_t*>& k, const std::vector<uint8_t*>& v) {
  if (k.size() != layers_.size() || v.size() != layers_.size()) return fail("one K and one V buffer per layer");
  if (n_past_ == 0) return Status::ok();
  const ModelConfig& c = spec_.config;
  const sp_dtype kv = kv_f16_ ? SP_F16 : SP_F32;
  for (size_t l = 0; l < layers_.size(); ++l)
    for (int which = 0; which < 2; ++which) {
      sp::Tensor dst = sp::Tensor::view(which == 0 ? k[l] : v[l], kv, {n_past_, c.n_kv_heads, c.head_dim});
      if (!dst.valid()) return host_fail("view of layer " + std::to_string(l) + " rows");
      const sp::Tensor& cache = which == 0 ? layers_[l].k_cache : layers_[l].v_cache;
      sp::Status rc = host_timer_.time([&] { return sp::get_rows(dst, cache, 0); });
      if (!rc.ok()) return host_fail("reading layer " + std::to_string(l) + " K/V rows");
    }
  return Status::ok();
}

Status Model::write_kv(const std::vector<const uint8_t*>& k, const std::vector<const uint8_t*>& v, uint32_t n_past,
                       bool kept) {
  if (k.size() != layers_.size() || v.size() != layers_.size()) return fail("one K and one V buffer per layer");
  if (n_past > n_ctx_) return fail("n_past " + std::to_string(n_past) + " exceeds the context of " + std::to_string(n_ctx_));
  if (n_past == 0) {
    n_past_ = 0;
    return Status::ok();
  }
  const ModelConfig& c = spec_.config;
  const sp_dtype kv = kv_f16_ ? SP_F16 : SP_F32;
  const size_t elem = kv_f16_ ? 2 : 4;
  const size_t n_bytes = size_t(n_past) * c.n_kv_heads * c.head_dim * elem;
  // set_rows takes rows in the cache's own dtype: the saved bytes go up as
  // they are, through a view over them (no staging, no f32 round trip).
  bool aligned_rows = true;
  for (size_t l = 0; l < layers_.size(); ++l)
    aligned_rows = aligned_rows && reinterpret_cast<uintptr_t>(k[l]) % elem == 0 &&
                   reinterpret_cast<uintptr_t>(v[l]) % elem == 0;
  if (kept && aligned_rows && upload_kept_rows(k, v, n_past).is_ok()) {
    n_past_ = n_past;
    return Status::ok();
  }
  // Otherwise (or where recording or replaying failed) op by op.
  // Rows off their element's alignment (a file's own offsets) are moved first.
  std::vector<uint32_t> aligned;
  for (size_t l = 0; l < layers_.size(); ++l)
    for (int which = 0; which < 2; ++which) {
      const uint8_t* src = which == 0 ? k[l] : v[l];
      if (reinterpret_cast<uintptr_t>(src) % elem != 0) {
        aligned.resize((n_bytes + 3) / 4);
        std::memcpy(aligned.data(), src, n_bytes);
        src = reinterpret_cast<const uint8_t*>(aligned.data());
      }
      sp::Tensor rows = sp::Tensor::view(src, kv, {n_past, c.n_kv_heads, c.head_dim});
      if (!rows.valid()) return host_fail("view of layer " + std::to_string(l) + " saved rows");
      sp::Tensor& cache = which == 0 ? layers_[l].k_cache : layers_[l].v_cache;
      sp::Status rc = host_timer_.time([&] { return sp::set_rows(cache, rows, 0); });
      if (!rc.ok()) return host_fail("writing layer " + std::to_string(l) + " K/V rows");
    }
  n_past_ = n_past;
  return Status::ok();
}

sp::Sequence Model::record_cache_writes(const std::function<const sp::Tensor&(size_t, int)>& rows) {
  sp::Status recorded;
  sp::Sequence seq = sp::Sequence::record([&] {
    for (size_t l = 0; l < layers_.size() && recorded.ok(); ++l) {
      recorded = sp::set_rows(layers_[l].k_cache, rows(l, 0), 0);
      if (recorded.ok()) recorded = sp::set_rows(layers_[l].v_cache, rows(l, 1), 0);
    }
  });
  if (!recorded.ok()) seq.reset();
  return seq;
}

Status Model::upload_kept_rows(const std::vector<const uint8_t*>& k, const std::vector<const uint8_t*>& v,
                               uint32_t n_past) {
  KvUpload& up = kv_upload_;
  if (!up.sequence.valid() || up.n_past != n_past || up.k != k || up.v != v) {
    up.sequence.reset();
    up.views.clear();
    up.k.clear(), up.v.clear();
    const ModelConfig& c = spec_.config;
    const sp_dtype kv = kv_f16_ ? SP_F16 : SP_F32;
    for (size_t l = 0; l < layers_.size(); ++l)
      for (int which = 0; which < 2; ++which) {
        up.views.push_back(sp::Tensor::view(which == 0 ? k[l] : v[l], kv, {n_past, c.n_kv_heads, c.head_dim}));
        if (!up.views.back().valid()) {
          up.views.clear();
          return host_fail("view of layer " + std::to_string(l) + " saved rows");
        }
      }
    up.sequence = record_cache_writes([&](size_t l, int which) -> const sp::Tensor& { return up.views[2 * l + which]; });
    if (!up.sequence.valid()) {
      up.sequence.reset();
      up.views.clear();
      return host_fail("recording the K/V rows' upload");
    }
    up.k = k, up.v = v, up.n_past = n_past;
    ++kv_upload_records_;
  }
  sp::Status rc = host_timer_.time([&] { return up.sequence.replay(); });
  if (!rc.ok()) {  // not again: the next restore records afresh
    up.sequence.reset();
    up.views.clear();
    return host_fail("replaying the K/V rows' upload");
  }
  return Status::ok();
}

Status Model::checkpoint_kv(KvCheckpoint& cp) {
  const ModelConfig& c = spec_.config;
  const sp_dtype kv = kv_f16_ ? SP_F16 : SP_F32;
  if (n_past_ == 0) {  // nothing to hold (a tensor has at least one row)
    cp.restore.reset();
    cp.k.clear(), cp.v.clear();
    cp.n_past = 0, cp.n_bytes = 0;
    return Status::ok();
  }
  if (cp.n_past != n_past_ || cp.k.size() != layers_.size() || !cp.restore.valid()) {
    cp.restore.reset();
    cp.k.clear(), cp.v.clear();
    cp.n_past = 0;
    for (size_t l = 0; l < layers_.size(); ++l)
      for (int which = 0; which < 2; ++which) {
        sp::Tensor t = sp::Tensor::alloc(kv, {n_past_, c.n_kv_heads, c.head_dim});
        if (!t.valid()) return host_fail("checkpoint tensor for layer " + std::to_string(l));
        (which == 0 ? cp.k : cp.v).push_back(std::move(t));
      }
    cp.n_bytes = uint64_t(2) * layers_.size() * n_past_ * c.n_kv_heads * c.head_dim * (kv_f16_ ? 2 : 4);
    cp.restore = record_cache_writes([&](size_t l, int which) -> const sp::Tensor& { return which == 0 ? cp.k[l] : cp.v[l]; });
    if (!cp.restore.valid()) return host_fail("recording the checkpoint's restore");
  }
  // Rows [0, n_past) only: a checkpoint costs what the conversation holds, not the context.
  for (size_t l = 0; l < layers_.size(); ++l)
    for (int which = 0; which < 2; ++which) {
      const sp::Tensor& cache = which == 0 ? layers_[l].k_cache : layers_[l].v_cache;
      sp::Status rc = host_timer_.time([&] { return sp::get_rows(which == 0 ? cp.k[l] : cp.v[l], cache, 0); });
      if (!rc.ok()) return host_fail("checkpointing layer " + std::to_string(l) + " K/V");
    }
  cp.n_past = n_past_;
  return Status::ok();
}

Status Model::restore_kv(const KvCheckpoint& cp) {
  if (cp.n_past > n_ctx_) return fail("the checkpoint's n_past exceeds the context");
  if (cp.n_past > 0) {
    if (cp.k.size() != layers_.size() || cp.v.size() != layers_.size() || !cp.restore.valid())
      return fail("a checkpoint of another model, or one never taken");
    sp::Status rc = host_timer_.time([&] { return cp.restore.replay(); });
    if (!rc.ok()) return host_fail("restoring the K/V caches from the checkpoint");
  }
  n_past_ = cp.n_past;
  return Status::ok();
}

}  // namespace llm
