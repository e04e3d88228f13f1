#include "engine/wasm_rt_memory.h"

#include <mutex>
#include <unordered_map>

#include "engine/guarded_call.h"
#include "guest_call/host_call_gate.h"

namespace samepage {
namespace {

thread_local MemoryScope* tls_scope = nullptr;

// wasm_rt_memory_t lives inside the generated instance struct; this maps it
// to the LinearMemory that backs it. Grows are rare, so a mutex is fine.
std::mutex g_registry_mutex;
std::unordered_map<const wasm_rt_memory_t*, std::unique_ptr<LinearMemory>> g_registry;

void sync_struct(wasm_rt_memory_t* memory, const LinearMemory& linear) {
  memory->data = linear.base();
  memory->pages = linear.pages();
  memory->max_pages = linear.max_pages();
  memory->size = static_cast<uint32_t>(linear.size_bytes());
}

}  // namespace

void memory_scope_enter(MemoryScope* scope) { tls_scope = scope; }
void memory_scope_leave() { tls_scope = nullptr; }
MemoryScope* memory_scope_current() { return tls_scope; }

LinearMemory* linear_memory_of(const wasm_rt_memory_t* memory) {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  auto it = g_registry.find(memory);
  return it == g_registry.end() ? nullptr : it->second.get();
}

}  // namespace samepage

using samepage::g_registry;
using samepage::g_registry_mutex;

namespace {

// Kept out of the extern "C" hook so no C++ object is live when it traps.
bool allocate_into(samepage::MemoryScope* scope, wasm_rt_memory_t* memory, uint32_t initial_pages,
                   uint32_t max_pages) {
  auto created = samepage::LinearMemory::create(initial_pages, max_pages, scope->options);
  if (!created) {
    scope->error = created.message();
    return false;
  }
  samepage::LinearMemory* linear = created.value().get();
  samepage::sync_struct(memory, *linear);
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    g_registry[memory] = std::move(created).value();
  }
  scope->allocated = linear;
  scope->memory_struct = memory;
  samepage::guarded_call_set_memory(linear);
  if (scope->on_allocate) scope->on_allocate(linear, memory);
  return true;
}

void free_memory(wasm_rt_memory_t* memory) {
  std::unique_ptr<samepage::LinearMemory> owned;
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    auto it = g_registry.find(memory);
    if (it == g_registry.end()) return;
    owned = std::move(it->second);
    g_registry.erase(it);
  }
  memory->data = nullptr;
  memory->size = 0;
  memory->pages = 0;
}

}  // namespace

extern "C" void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages,
                                        uint32_t max_pages) {
  samepage::MemoryScope* scope = samepage::tls_scope;
  if (scope == nullptr) samepage::guest_abort("[engine::memory] memory allocated outside instantiation");
  // The trap comes after the gate is left: never from inside host code.
  const bool allocated =
      samepage::host_call([&] { return allocate_into(scope, memory, initial_pages, max_pages); });
  if (!allocated) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
}

extern "C" uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta_pages) {
  return samepage::host_call([&] {
    samepage::LinearMemory* linear = samepage::linear_memory_of(memory);
    if (linear == nullptr) return samepage::kGrowFailed;
    const uint32_t old_pages = linear->grow(delta_pages);
    if (old_pages != samepage::kGrowFailed) samepage::sync_struct(memory, *linear);
    return old_pages;
  });
}

extern "C" void wasm_rt_free_memory(wasm_rt_memory_t* memory) {
  samepage::host_call([&] { free_memory(memory); });
}
