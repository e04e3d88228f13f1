// The snapshot code's access to an Instance (a friend of it): capture into
// a SnapshotImage (instance_snapshot.cpp) and apply one to a fresh instance
// (instance_restore.cpp).
#pragma once

#include <memory>

#include "api/host_api.h"
#include "samepage/instance.h"
#include "snapshot/snapshot_format.h"

namespace samepage {

struct InstanceSnapshot {
  // Reads the image of `instance`, whose caller holds it between calls
  // (busy_) until the image is written; `api_state` holds the runtime
  // tensors' readers the image uses (keep it while writing).
  static Result<SnapshotImage> capture(const Instance& instance, HostApiState* api_state);
  // Checks the image against the module and the options before anything is made.
  static Status check_against(const SnapshotImage& image, const Module& module, const InstanceOptions& options);
  static Status apply(Instance& instance, const SnapshotImage& image);
  static Instance::State& state(const Instance& instance) { return *instance.state_; }
};

}  // namespace samepage
