// Kept for includes that predate the explicit registry: see backend_entries.h.
#pragma once

#include "backends/backend_entries.h"
