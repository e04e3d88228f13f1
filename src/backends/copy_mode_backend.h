// Copy mode (MemoryMode_copy, WASI-NN style): any backend behind a layer
// that gives every view a staging copy of its own, copies operands in before
// each op and the output back after. It is the fallback when a backend cannot
// address guest memory, and the explicit-copy baseline benchmarks compare.
#pragma once

#include <memory>

#include "samepage/backend.h"

namespace samepage {

std::unique_ptr<Backend> make_copy_mode_backend(std::unique_ptr<Backend> inner);

}  // namespace samepage
