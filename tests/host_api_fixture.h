// A guest without a guest: real LinearMemory plus a HostApi, driven through
// the same extern "C" entry points that wasm2c-generated code calls.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "api/host_api.h"
#include "api/host_api_entries.h"
#include "guest_call/guest_context.h"
#include "samepage/linear_memory.h"

namespace samepage::test {

class FakeGuest {
 public:
  // backend: null for the CPU backend. max_pages: null for n_pages (no growth).
  explicit FakeGuest(MemoryMode mode = MemoryMode::MemoryMode_shared, uint32_t n_pages = 64,
                     std::shared_ptr<GuestAccount> account = nullptr, std::unique_ptr<Backend> backend = nullptr,
                     uint32_t max_pages = 0) {
    auto memory = LinearMemory::create(n_pages, max_pages == 0 ? n_pages : max_pages);
    EXPECT_TRUE(memory.is_ok()) << memory.message();
    memory_ = std::move(memory).value();
    raw_.data = memory_->base();
    raw_.pages = memory_->pages();
    raw_.max_pages = memory_->max_pages();
    raw_.size = static_cast<uint32_t>(memory_->size_bytes());
    if (backend == nullptr) {
      auto cpu = create_backend("cpu");
      EXPECT_TRUE(cpu.is_ok()) << cpu.message();
      backend = std::move(cpu).value();
    }
    api_ = std::make_unique<HostApi>(std::move(backend), mode, std::move(account));
    context_.memory = &raw_;
    context_.linear = memory_.get();
    context_.api = api_.get();
    // Guest fds for sp_map_file: what the test registers with add_file.
    context_.readable_file = [this](uint32_t fd) -> Result<int> {
      for (const auto& [guest_fd, host_fd] : files_)
        if (guest_fd == fd) return host_fd;
      return err("test::fd", "guest fd " + std::to_string(fd) + " is not open");
    };
    api_->attach(&context_, memory_.get());
  }
  // Makes host_fd (kept open by the caller) readable as guest fd guest_fd.
  void add_file(uint32_t guest_fd, int host_fd) { files_.push_back({guest_fd, host_fd}); }

  GuestContext* ctx() { return &context_; }
  // After the memory grew under the API: the wasm2c struct follows it.
  void sync_size() {
    raw_.pages = memory_->pages();
    raw_.size = static_cast<uint32_t>(memory_->size_bytes());
  }
  // Ends the API (and its backend) before the memory, as an Instance does.
  void end_api() { api_.reset(); }
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
  std::vector<std::pair<uint32_t, int>> files_;
};

}  // namespace samepage::test
