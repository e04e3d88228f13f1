#include "samepage/instance.h"

#include <cstdlib>
#include <cstring>

#include "api/host_api.h"
#include "engine/guarded_call.h"
#include "engine/loaded_module.h"
#include "engine/wasm_rt_memory.h"
#include "guest_call/guest_context.h"
#include "runtime/export_call.h"
#include "runtime/instance_state.h"
#include "wasi/wasi_context.h"

namespace samepage {

namespace {

// Live instances in the process, against GuestLimits::live_instances.
std::atomic<uint32_t> g_live_instances{0};

}  // namespace

LiveInstance::~LiveInstance() {
  if (held) g_live_instances.fetch_sub(1);
}

namespace {

struct InstantiateArgs {
  const LoadedModule* loaded;
  Instance* owner;
  void* instance_struct;
  GuestContext* context;
  MemoryScope* scope;
};

void instantiate_body(void* arg) {
  auto* a = static_cast<InstantiateArgs*>(arg);
  memory_scope_enter(a->scope);  // the allocation hook runs on this (the guest) thread
  a->loaded->instantiate(a->instance_struct, a->context);
  memory_scope_leave();
}

GuestOutcome outcome_of(const GuardedCall& call) {
  GuestOutcome out;
  switch (call.end) {
    case CallEnd::CallEnd_returned: out.kind = GuestOutcome::Kind::Kind_returned; break;
    case CallEnd::CallEnd_exited:
      out.kind = GuestOutcome::Kind::Kind_exited;
      out.exit_code = call.exit_code;
      break;
    case CallEnd::CallEnd_trapped:
      out.kind = GuestOutcome::Kind::Kind_trapped;
      out.message = call.message;
      break;
  }
  return out;
}

// The deadline of a call that starts now under `timeout_ms` (0: none).
uint64_t deadline_after(uint64_t timeout_ms) {
  return timeout_ms == 0 ? 0 : monotonic_now_ns() + timeout_ms * 1000000ull;
}

}  // namespace

Result<std::unique_ptr<Instance>> Instance::create(std::shared_ptr<Module> module,
                                                   const InstanceOptions& options, GuestOutcome* ended) {
  return create_impl(std::move(module), options, ended, true);
}

Result<std::unique_ptr<Instance>> Instance::create_impl(std::shared_ptr<Module> module, const InstanceOptions& options,
                                                        GuestOutcome* ended, bool run_initialize) {
  const char* where = "instance::create";
  std::unique_ptr<Instance> instance(new Instance());
  instance->module_ = module;
  instance->stack_bytes_ = options.stack_bytes;
  instance->timeout_ms_ = options.limits.timeout_ms;
  instance->interrupt_ = options.interrupt ? options.interrupt : InterruptHandle::create();
  instance->state_ = std::make_unique<State>();
  State& state = *instance->state_;
  const uint32_t max_live = options.limits.live_instances;
  for (uint32_t n = g_live_instances.load(); !state.live.held;) {
    if (n >= max_live)
      return err(where, std::to_string(n) + " instances are live, the limit of live instances (GuestLimits::live_instances) is " +
                            std::to_string(max_live) + "; each reserves 8 GiB of address space");
    state.live.held = g_live_instances.compare_exchange_weak(n, n + 1);
  }
  state.account = std::make_shared<GuestAccount>(options.limits);

  auto wasi = WasiContext::create(options.wasi, options.limits, state.account.get());
  if (!wasi) return wasi.status();
  state.wasi = std::move(wasi).value();
  state.context.wasi = state.wasi.get();
  state.context.readable_file = [wasi = state.wasi.get()](uint32_t guest_fd) -> Result<int> {
    const wasi::FdEntry* entry = wasi->fd_get(guest_fd);
    if (entry == nullptr) return err("wasi::fd", "guest fd " + std::to_string(guest_fd) + " is not open");
    if (entry->filetype != wasi::kFiletypeRegularFile || entry->path_only)
      return err("wasi::fd", "guest fd " + std::to_string(guest_fd) + " is not an open regular file");
    if (!entry->has_rights(wasi::kRightFdRead))
      return err("wasi::fd", "guest fd " + std::to_string(guest_fd) + " was not opened for reading");
    return entry->host.get();
  };
  state.context.file_origin = [wasi = state.wasi.get()](uint32_t guest_fd, std::string* preopen, std::string* path) {
    const wasi::FdEntry* entry = wasi->fd_get(guest_fd);
    if (entry == nullptr || entry->origin_preopen.empty()) return false;
    *preopen = entry->origin_preopen;
    *path = entry->origin_path;
    return true;
  };
  state.context.memory = &state.no_memory;
  bool imports_api = false;
  for (const ImportInfo& imp : module->info().imports) imports_api |= imp.module == "samepage";
  if (imports_api) {
    auto backend = create_backend(options.backend, options.backend_options);
    if (!backend) return backend.status();
    state.api = std::make_unique<HostApi>(std::move(backend).value(), options.memory_mode, state.account);
    state.context.api = state.api.get();
  }

  const LoadedModule& loaded = module->loaded();
  state.instance_struct = std::calloc(1, loaded.instance_bytes() == 0 ? 1 : loaded.instance_bytes());
  if (state.instance_struct == nullptr) return err(where, "out of host memory");

  MemoryScope scope;
  scope.options = options.memory;
  scope.account = state.account;
  scope.on_allocate = [&state, inst = instance.get()](LinearMemory* linear, wasm_rt_memory_t* raw) {
    inst->memory_ = linear;
    state.context.memory = raw;
    state.context.linear = linear;
    if (state.api) state.api->attach(&state.context, linear);
  };
  InstantiateArgs args{&loaded, instance.get(), state.instance_struct, &state.context, &scope};
  // One deadline for all of instantiation: the start function and _initialize.
  const uint64_t deadline_ns = deadline_after(instance->timeout_ms_);
  GuardedCall call;
  call.body = instantiate_body;
  call.arg = &args;
  call.stack_bytes = options.stack_bytes;
  call.interrupt = instance->interrupt_.get();
  call.deadline_ns = deadline_ns;
  call.timeout_ms = instance->timeout_ms_;
  if (Status s = run_guarded(call); !s) return s;
  state.instantiated = true;  // even a trapped instantiation may hold memory to free
  if (!scope.error.empty()) return err(where, scope.error);
  if (call.end != CallEnd::CallEnd_returned) {
    const GuestOutcome out = outcome_of(call);
    if (ended != nullptr) *ended = out;
    return err(where, "instantiation ended the guest: " +
                          (out.trapped() ? out.message : "exit " + std::to_string(out.exit_code)));
  }
  if (state.api && scope.allocated == nullptr) state.api->attach(&state.context, nullptr);  // a module without memory
  // WASI reactors initialise themselves (static constructors) in _initialize.
  // A restore skips it: its effects are in the snapshot.
  if (run_initialize && loaded.find_export("_initialize") != nullptr) {
    auto init = instance->call_until("_initialize", {}, deadline_ns);
    if (!init) return init.status();
    if (init->kind != GuestOutcome::Kind::Kind_returned) {
      if (ended != nullptr) *ended = *init;
      return err(where, "_initialize ended the guest: " +
                            (init->trapped() ? init->message : "exit " + std::to_string(init->exit_code)));
    }
  }
  return instance;
}

Instance::~Instance() {
  // The backend goes first: it may hold registrations of the guest memory.
  if (state_) state_->api.reset();
  if (state_ && state_->instance_struct != nullptr) {
    if (state_->instantiated) module_->loaded().free_instance(state_->instance_struct);
    std::free(state_->instance_struct);
  }
}

Result<GuestOutcome> Instance::run() { return call("_start"); }

HostApi* Instance::host_api() const { return state_->api.get(); }

std::vector<BackendStat> Instance::backend_stats() const {
  HostApi* api = host_api();
  return api == nullptr ? std::vector<BackendStat>{} : api->backend().stats();
}

Result<GuestOutcome> Instance::call(const std::string& export_name, const std::vector<uint64_t>& args) {
  return call_until(export_name, args, deadline_after(timeout_ms_));
}

Result<GuestOutcome> Instance::call_until(const std::string& export_name, const std::vector<uint64_t>& args,
                                          uint64_t deadline_ns) {
  const char* where = "instance::call";
  if (ended_) return err(where, "the guest has already ended (" + end_message_ + ")");
  // One call at a time: generated code and the host API keep per-instance state.
  if (busy_.exchange(true)) return err(where, "the instance is already running a call (or saving a snapshot) on another thread");
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag = false; }
  } release{busy_};
  const GlueExport* fn = module_->loaded().find_export(export_name);
  if (fn == nullptr) return err(where, "no function export named '" + export_name + "'");
  ExportCall export_call;
  if (Status s = prepare_export_call(*fn, state_->instance_struct, args, &export_call); !s) return s;

  GuardedCall call;
  call.body = invoke_export;
  call.arg = &export_call;
  call.memory = memory_;
  call.stack_bytes = stack_bytes_;
  call.interrupt = interrupt_.get();
  call.deadline_ns = deadline_ns;
  call.timeout_ms = timeout_ms_;
  if (Status s = run_guarded(call); !s) return s;
  GuestOutcome out = outcome_of(call);
  out.result = export_call.result;
  out.has_result = export_call.returns_value;
  out.result_is_i32 = export_call.result_is_i32;
  if (out.kind != GuestOutcome::Kind::Kind_returned) {
    ended_ = true;
    end_message_ = out.trapped() ? out.message : "exited with code " + std::to_string(out.exit_code);
  }
  return out;
}

}  // namespace samepage
