// The host API's saved state and the snapshot's host-API sections, mapped
// each way in one place (src/snapshot knows nothing of the host API, so the
// runtime translates between the two).
#pragma once

#include "api/host_api.h"
#include "snapshot/snapshot_format.h"

namespace samepage {

// Fills image's host-API sections from state; image's tensor bytes point
// into state, which must outlive the image.
void api_state_to_image(const HostApiState& state, SnapshotImage* image);

// The state a restore hands the host API. Ops are taken as the parser
// bounded them (op code, 1 to 4 operands) and checked again as they are
// recorded; tensor bytes point into the image.
HostApiState api_state_from_image(const SnapshotImage& image);

}  // namespace samepage
