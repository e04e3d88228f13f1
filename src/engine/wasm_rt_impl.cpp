// samepage's implementation of wasm-rt.h (WABT 1.0.32): the runtime that
// wasm2c-generated code calls into. Memory comes from LinearMemory
// (wasm_rt_memory.cpp); traps unwind through guarded_call.cpp. Every function
// here that does real work (locks, allocation) runs behind the host call gate.
#include <cstdarg>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <wasm-rt.h>

#include "engine/guarded_call.h"
#include "engine/wasm_rt_memory.h"
#include "guest_call/host_call_gate.h"

namespace {

struct RegisteredFuncType {
  std::vector<wasm_rt_type_t> params;
  std::vector<wasm_rt_type_t> results;
  bool operator==(const RegisteredFuncType&) const = default;
};

// Function types are process-wide: equal signatures get equal ids in every
// module, which is what call_indirect compares.
std::mutex g_func_types_mutex;
std::vector<RegisteredFuncType> g_func_types;

// Every table is charged to its guest's account (elements and host bytes),
// found here by the table's address: grow and free run without a scope.
struct TableCharge {
  std::shared_ptr<samepage::GuestAccount> account;
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
};
std::mutex g_tables_mutex;
std::unordered_map<const void*, TableCharge> g_tables;

// Charges n_elements of elem_bytes each; false (nothing charged) past a limit.
bool charge(TableCharge& c, uint64_t n_elements, uint64_t elem_bytes) {
  if (!c.account->charge_table_elements(n_elements)) return false;
  if (!c.account->charge_bytes(n_elements * elem_bytes)) {
    c.account->release_table_elements(n_elements);
    return false;
  }
  c.n_elements += n_elements;
  c.n_bytes += n_elements * elem_bytes;
  return true;
}

// False when the table cannot be had; the caller traps once no C++ object
// of this frame is live (the trap unwinds with longjmp).
template <typename Table, typename Elem>
bool allocate_table(Table* table, uint32_t elements, uint32_t max_elements) {
  table->size = 0;
  table->max_size = max_elements;
  table->data = nullptr;
  samepage::MemoryScope* scope = samepage::memory_scope_current();
  TableCharge c;
  c.account = scope != nullptr && scope->account ? scope->account : std::make_shared<samepage::GuestAccount>();
  if (!charge(c, elements, sizeof(Elem))) {
    if (scope != nullptr) {
      const samepage::GuestLimits& l = c.account->limits();
      scope->error = "[engine::table] a table of " + std::to_string(elements) + " elements passes this guest's limit of " +
                     std::to_string(l.table_elements) + " table elements (--max-table-elements) or " +
                     std::to_string(l.host_bytes >> 20) + " MiB of host memory (--max-host-mb)";
    }
    return false;
  }
  if (elements > 0) {
    table->data = static_cast<Elem*>(calloc(elements, sizeof(Elem)));
    if (table->data == nullptr) {
      c.account->release_table_elements(c.n_elements);
      c.account->release_bytes(c.n_bytes);
      return false;
    }
  }
  table->size = elements;
  std::lock_guard<std::mutex> lock(g_tables_mutex);
  g_tables[table] = std::move(c);
  return true;
}

template <typename Table>
void free_table(Table* table) {
  free(table->data);
  table->data = nullptr;
  table->size = 0;
  std::lock_guard<std::mutex> lock(g_tables_mutex);
  auto it = g_tables.find(table);
  if (it == g_tables.end()) return;
  it->second.account->release_table_elements(it->second.n_elements);
  it->second.account->release_bytes(it->second.n_bytes);
  g_tables.erase(it);
}

// Wasm's table.grow: -1 past the table's maximum or the guest's limits,
// decided before anything is allocated.
template <typename Table, typename Elem>
uint32_t grow_table(Table* table, uint32_t delta, Elem init) {
  const uint32_t old_size = table->size;
  if (delta > table->max_size - old_size) return 0xffffffffu;
  if (delta == 0) return old_size;
  std::lock_guard<std::mutex> lock(g_tables_mutex);
  auto it = g_tables.find(table);
  if (it == g_tables.end()) return 0xffffffffu;  // not allocated through wasm_rt_allocate_*_table
  TableCharge& c = it->second;
  if (!charge(c, delta, sizeof(Elem))) return 0xffffffffu;
  const uint64_t new_size = uint64_t{old_size} + delta;
  auto* data = static_cast<Elem*>(realloc(table->data, new_size * sizeof(Elem)));
  if (data == nullptr) {
    c.account->release_table_elements(delta);
    c.account->release_bytes(uint64_t{delta} * sizeof(Elem));
    c.n_elements -= delta;
    c.n_bytes -= uint64_t{delta} * sizeof(Elem);
    return 0xffffffffu;
  }
  for (uint64_t i = old_size; i < new_size; ++i) data[i] = init;
  table->data = data;
  table->size = static_cast<uint32_t>(new_size);
  return old_size;
}

bool g_initialized = false;

}  // namespace

extern "C" {

void wasm_rt_init(void) { g_initialized = true; }
bool wasm_rt_is_initialized(void) { return g_initialized; }
void wasm_rt_free(void) {}

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  RegisteredFuncType type;
  va_list args;
  va_start(args, results);
  for (uint32_t i = 0; i < params; ++i) type.params.push_back(static_cast<wasm_rt_type_t>(va_arg(args, int)));
  for (uint32_t i = 0; i < results; ++i) type.results.push_back(static_cast<wasm_rt_type_t>(va_arg(args, int)));
  va_end(args);
  return samepage::host_call([&] {
    std::lock_guard<std::mutex> lock(g_func_types_mutex);
    for (size_t i = 0; i < g_func_types.size(); ++i)
      if (g_func_types[i] == type) return static_cast<uint32_t>(i + 1);
    g_func_types.push_back(std::move(type));
    return static_cast<uint32_t>(g_func_types.size());  // 0 stays "no type" (null funcref)
  });
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  thread_local std::string message;
  message = samepage::trap_message(trap);
  return message.c_str();
}

// Exception handling: modules that use it are refused before translation,
// so reaching these means generated code that samepage did not vet.
uint32_t wasm_rt_register_tag(uint32_t) { return 0; }
void wasm_rt_load_exception(uint32_t, uint32_t, const void*) {}
void wasm_rt_throw(void) { wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION); }
WASM_RT_UNWIND_TARGET* wasm_rt_get_unwind_target(void) { return nullptr; }
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET*) {}
uint32_t wasm_rt_exception_tag(void) { return 0; }
uint32_t wasm_rt_exception_size(void) { return 0; }
void* wasm_rt_exception(void) { return nullptr; }

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements,
                                    uint32_t max_elements) {
  const bool allocated = samepage::host_call([&] {
    return allocate_table<wasm_rt_funcref_table_t, wasm_rt_funcref_t>(table, elements, max_elements);
  });
  if (!allocated) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
}
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* table) {
  samepage::host_call([&] { free_table(table); });
}
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* table, uint32_t elements,
                                      uint32_t max_elements) {
  const bool allocated = samepage::host_call([&] {
    return allocate_table<wasm_rt_externref_table_t, wasm_rt_externref_t>(table, elements, max_elements);
  });
  if (!allocated) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
}
void wasm_rt_free_externref_table(wasm_rt_externref_table_t* table) {
  samepage::host_call([&] { free_table(table); });
}
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* table, uint32_t delta,
                                    wasm_rt_funcref_t init) {
  return samepage::host_call([&] { return grow_table(table, delta, init); });
}
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* table, uint32_t delta,
                                      wasm_rt_externref_t init) {
  return samepage::host_call([&] { return grow_table(table, delta, init); });
}

}  // extern "C"
