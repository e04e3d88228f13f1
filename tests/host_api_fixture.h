// A guest without a guest: real LinearMemory plus a HostApi, driven through
// the same extern "C" entry points that wasm2c-generated code calls.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "api/host_api.h"
#include "runtime/guest_context.h"
#include "samepage/linear_memory.h"

extern "C" {
uint32_t Z_samepageZ_tensor_view(samepage::GuestContext*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_samepageZ_tensor_alloc(samepage::GuestContext*, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_samepageZ_tensor_free(samepage::GuestContext*, uint32_t);
uint32_t Z_samepageZ_sync(samepage::GuestContext*, uint32_t);
uint32_t Z_samepageZ_matmul(samepage::GuestContext*, uint32_t, uint32_t, uint32_t);
uint32_t Z_samepageZ_rmsnorm(samepage::GuestContext*, uint32_t, uint32_t, uint32_t, float);
uint32_t Z_samepageZ_rope(samepage::GuestContext*, uint32_t, uint32_t, uint32_t, float, float, uint32_t);
uint32_t Z_samepageZ_attention(samepage::GuestContext*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_samepageZ_silu_mul(samepage::GuestContext*, uint32_t, uint32_t, uint32_t);
uint32_t Z_samepageZ_add(samepage::GuestContext*, uint32_t, uint32_t, uint32_t);
uint32_t Z_samepageZ_scale(samepage::GuestContext*, uint32_t, uint32_t, float);
uint32_t Z_samepageZ_embedding(samepage::GuestContext*, uint32_t, uint32_t, uint32_t);
uint32_t Z_samepageZ_softmax(samepage::GuestContext*, uint32_t, uint32_t);
uint32_t Z_samepageZ_argmax(samepage::GuestContext*, uint32_t, uint32_t);
uint32_t Z_samepageZ_copy(samepage::GuestContext*, uint32_t, uint32_t);
uint32_t Z_samepageZ_record_begin(samepage::GuestContext*);
uint32_t Z_samepageZ_record_end(samepage::GuestContext*);
uint32_t Z_samepageZ_replay(samepage::GuestContext*, uint32_t, uint32_t, uint32_t);
uint32_t Z_samepageZ_tensor_info(samepage::GuestContext*, uint32_t, uint32_t);
uint32_t Z_samepageZ_stats(samepage::GuestContext*, uint32_t);
uint32_t Z_samepageZ_last_error(samepage::GuestContext*, uint32_t, uint32_t);
}

namespace samepage::test {

class FakeGuest {
 public:
  // backend_name: one of backend_names(); the op test runs each of them.
  explicit FakeGuest(MemoryMode mode = MemoryMode::MemoryMode_shared, uint32_t n_pages = 64,
                     std::shared_ptr<GuestAccount> account = nullptr, const std::string& backend_name = "cpu") {
    auto memory = LinearMemory::create(n_pages, n_pages);
    EXPECT_TRUE(memory.is_ok()) << memory.message();
    memory_ = std::move(memory).value();
    raw_.data = memory_->base();
    raw_.pages = memory_->pages();
    raw_.max_pages = memory_->max_pages();
    raw_.size = static_cast<uint32_t>(memory_->size_bytes());
    auto backend = create_backend(backend_name);
    EXPECT_TRUE(backend.is_ok()) << backend.message();
    api_ = std::make_unique<HostApi>(std::move(backend).value(), mode, std::move(account));
    context_.memory = &raw_;
    context_.linear = memory_.get();
    context_.api = api_.get();
    api_->attach(&context_, memory_.get());
  }

  GuestContext* ctx() { return &context_; }
  HostApi& api() { return *api_; }
  uint8_t* base() { return memory_->base(); }
  uint64_t size_bytes() const { return memory_->size_bytes(); }
  LinearMemory& memory() { return *memory_; }

  // A bump allocator over guest memory, 64-byte aligned, starting past 64 KiB.
  uint32_t alloc(uint64_t n_bytes) {
    next_ = (next_ + 63) / 64 * 64;
    const uint32_t at = static_cast<uint32_t>(next_);
    next_ += n_bytes;
    EXPECT_LE(next_, size_bytes()) << "fake guest out of memory";
    return at;
  }
  template <typename T>
  T* at(uint32_t offset) { return reinterpret_cast<T*>(base() + offset); }

  // A view over freshly allocated guest bytes; shape outermost first.
  int32_t view(int32_t dtype, std::vector<uint32_t> shape, uint64_t n_bytes, uint32_t* offset_out = nullptr,
               int32_t flags = 0) {
    const uint32_t shape_at = alloc(16);
    std::memcpy(base() + shape_at, shape.data(), shape.size() * 4);
    const uint32_t data_at = alloc(n_bytes);
    if (offset_out) *offset_out = data_at;
    return static_cast<int32_t>(Z_samepageZ_tensor_view(ctx(), data_at, static_cast<uint32_t>(dtype),
                                                        static_cast<uint32_t>(shape.size()), shape_at,
                                                        static_cast<uint32_t>(flags)));
  }
  // An f32 view filled with uniform random values in [-1, 1).
  int32_t random_f32(std::vector<uint32_t> shape, std::mt19937& rng, float** data_out = nullptr) {
    uint64_t n = 1;
    for (uint32_t d : shape) n *= d;
    uint32_t offset = 0;
    const int32_t h = view(0, shape, n * 4, &offset);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    float* p = at<float>(offset);
    for (uint64_t i = 0; i < n; ++i) p[i] = dist(rng);
    if (data_out) *data_out = p;
    return h;
  }

  std::string last_error() { return api_->last_error_message(); }

 private:
  std::unique_ptr<LinearMemory> memory_;
  wasm_rt_memory_t raw_{};
  std::unique_ptr<HostApi> api_;
  GuestContext context_;
  uint64_t next_ = 65536;
};

}  // namespace samepage::test
