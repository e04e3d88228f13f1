#include "samepage/dtype.h"

namespace samepage {

uint64_t tensor_bytes(DType dtype, int n_dims, const int64_t* shape) {
  if (!dtype_valid(dtype) || n_dims < 1 || n_dims > 4) return 0;
  uint64_t n = 1;
  for (int i = 0; i < n_dims; ++i) {
    if (shape[i] <= 0 || shape[i] > (int64_t{1} << 32)) return 0;
    if (n > (uint64_t{1} << 40) / static_cast<uint64_t>(shape[i])) return 0;
    n *= static_cast<uint64_t>(shape[i]);
  }
  const DTypeTraits& traits = dtype_traits(dtype);
  const uint64_t row = static_cast<uint64_t>(shape[n_dims - 1]);
  if (row % static_cast<uint64_t>(traits.block_size) != 0) return 0;
  return n / static_cast<uint64_t>(traits.block_size) * static_cast<uint64_t>(traits.block_bytes);
}

}  // namespace samepage
