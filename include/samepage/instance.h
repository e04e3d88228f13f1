// One running guest: a module instance with its own linear memory, WASI
// context and host-API state. Guest failures end the guest, never the host.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "samepage/backend.h"
#include "samepage/engine.h"
#include "samepage/host_import.h"
#include "samepage/interrupt.h"
#include "samepage/limits.h"
#include "samepage/linear_memory.h"
#include "samepage/wasi_config.h"

namespace samepage {

// Every function an Instance offers to guests: WASI preview1 and the
// samepage tensor API. Hand it to the Engine (EngineOptions::host_imports).
const std::vector<HostImport>& host_imports();

struct InstanceOptions {
  WasiConfig wasi;
  MemoryOptions memory;
  uint64_t stack_bytes = 8ull << 20;  // native stack for generated code
  std::string backend = "cpu";        // compute backend for the samepage API
  BackendOptions backend_options;     // how it is made (CPU threads)
  MemoryMode memory_mode = MemoryMode::MemoryMode_shared;
  GuestLimits limits;                 // what this guest may make the host spend
  // Lets another thread interrupt this instance, even while create() still
  // runs its start function; create() makes one when none is given.
  std::shared_ptr<InterruptHandle> interrupt;
};

// How a guest call ended.
struct GuestOutcome {
  enum class Kind { Kind_returned, Kind_exited, Kind_trapped };
  Kind kind = Kind::Kind_returned;
  uint32_t exit_code = 0;   // proc_exit code (0 when it returned)
  uint64_t result = 0;      // the export's i32/i64 result, when it returned one
  bool has_result = false;  // the export returns a value
  bool result_is_i32 = false;
  std::string message;      // the trap, when trapped

  bool trapped() const { return kind == Kind::Kind_trapped; }
};

class Instance {
 public:
  // Fails when instantiation itself ends the guest (proc_exit, a trap or an
  // interrupt in the start function or _initialize); `ended`, when given,
  // then says how, as run() would have.
  static Result<std::unique_ptr<Instance>> create(std::shared_ptr<Module> module,
                                                  const InstanceOptions& options,
                                                  GuestOutcome* ended = nullptr);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Runs the WASI command entry point `_start`.
  Result<GuestOutcome> run();
  // Calls a function export whose parameters and result are i32/i64.
  Result<GuestOutcome> call(const std::string& export_name, const std::vector<uint64_t>& args = {});

  LinearMemory* memory() const { return memory_; }  // nullptr for a module without memory
  const Module& module() const { return *module_; }
  // The samepage API state, or nullptr when the module does not import it.
  class HostApi* host_api() const;
  // The backend's counters (Backend::stats), empty when the module does not
  // import the samepage API.
  std::vector<BackendStat> backend_stats() const;
  bool ended() const { return ended_; }

  // Snapshots (issue 10; README "Snapshots"): the whole guest state between
  // calls — linear memory (zero pages skipped, file mappings by origin and
  // content hash), mutable globals, tables, the samepage API's tensors —
  // in one checksummed file bound to this module. Refused while a call runs,
  // after the guest ended, or while a sequence is being recorded.
  Status save_snapshot(const std::string& path) const;
  Result<std::vector<uint8_t>> snapshot_bytes() const;
  // A new instance of `module` in the state a snapshot holds. Everything the
  // operator grants comes from `options`, never from the file: preopens
  // (mapped files are reopened through them and checked against their
  // recorded hash), args, environment, limits, backend. `_initialize` is not
  // run again. A corrupt, truncated or mismatched snapshot (another module,
  // a changed mapped file, a table entry or global the module cannot hold)
  // is an error and no instance is made.
  static Result<std::unique_ptr<Instance>> restore(std::shared_ptr<Module> module, const InstanceOptions& options,
                                                   const std::string& snapshot_path);
  static Result<std::unique_ptr<Instance>> restore_bytes(std::shared_ptr<Module> module, const InstanceOptions& options,
                                                         const uint8_t* bytes, size_t n_bytes);

  // Interrupts the running call (or the next one): see InterruptHandle::interrupt.
  // Safe from any thread.
  void interrupt() { interrupt_->interrupt(); }
  const std::shared_ptr<InterruptHandle>& interrupt_handle() const { return interrupt_; }

 private:
  Instance() = default;
  static Result<std::unique_ptr<Instance>> create_impl(std::shared_ptr<Module> module, const InstanceOptions& options,
                                                       GuestOutcome* ended, bool run_initialize);
  friend struct InstanceSnapshot;  // instance_snapshot.cpp, instance_restore.cpp
  Result<GuestOutcome> call_until(const std::string& export_name, const std::vector<uint64_t>& args,
                                  uint64_t deadline_ns);
  struct State;
  std::shared_ptr<Module> module_;
  std::unique_ptr<State> state_;
  LinearMemory* memory_ = nullptr;
  uint64_t stack_bytes_ = 0;
  uint64_t timeout_ms_ = 0;  // per call; 0: none
  std::shared_ptr<InterruptHandle> interrupt_;
  bool ended_ = false;       // trapped or exited: later calls are refused
  mutable std::atomic<bool> busy_{false};  // a call, or a snapshot save, is running
  std::string end_message_;
};

}  // namespace samepage
