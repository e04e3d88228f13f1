// The model's side of a session: its content hash, and its K/V rows read
// out and written back through the host API (the caches may live on a GPU).
#include <cstring>

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

Status Model::write_kv(const std::vector<const uint8_t*>& k, const std::vector<const uint8_t*>& v, uint32_t n_past) {
  if (k.size() != layers_.size() || v.size() != layers_.size()) return fail("one K and one V buffer per layer");
  if (n_past > n_ctx_) return fail("n_past " + std::to_string(n_past) + " exceeds the context of " + std::to_string(n_ctx_));
  if (n_past == 0) {
    n_past_ = 0;
    return Status::ok();
  }
  const ModelConfig& c = spec_.config;
  const size_t n = size_t(n_past) * c.n_kv_heads * c.head_dim;
  const size_t elem = kv_f16_ ? 2 : 4;
  // set_rows takes f32 rows: an f16 file is widened by the host (sp_copy),
  // exactly, into staging; both go through aligned guest buffers.
  std::vector<float> staging(n);
  std::vector<uint16_t> half(kv_f16_ ? n : 0);
  sp::Tensor rows = sp::Tensor::view(staging.data(), SP_F32, {n_past, c.n_kv_heads, c.head_dim});
  sp::Tensor halves = kv_f16_ ? sp::Tensor::view(half.data(), SP_F16, {n_past, c.n_kv_heads, c.head_dim}) : sp::Tensor();
  if (!rows.valid() || (kv_f16_ && !halves.valid())) return host_fail("staging for " + std::to_string(n_past) + " rows");
  for (size_t l = 0; l < layers_.size(); ++l)
    for (int which = 0; which < 2; ++which) {
      const uint8_t* src = which == 0 ? k[l] : v[l];
      std::memcpy(kv_f16_ ? static_cast<void*>(half.data()) : static_cast<void*>(staging.data()), src, n * elem);
      sp::Tensor& cache = which == 0 ? layers_[l].k_cache : layers_[l].v_cache;
      sp::Status rc = host_timer_.time([&] {
        if (kv_f16_) {
          sp::Status widened = sp::copy(rows, halves);
          if (!widened.ok()) return widened;
        }
        return sp::set_rows(cache, rows, 0);
      });
      if (!rc.ok()) return host_fail("writing layer " + std::to_string(l) + " K/V rows");
    }
  n_past_ = n_past;
  return Status::ok();
}

}  // namespace llm
