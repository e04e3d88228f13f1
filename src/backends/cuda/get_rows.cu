// get_rows: the filled rows of a K/V cache read out for a session snapshot.
// It is copy's conversion (convert.cu) started row0 rows into the source: a
// same-dtype read is a byte copy, so an f16 cache stays
// lossless.
#include "backends/cuda/get_rows.h"
#include "backends/cuda/kernels.h"

namespace samepage::cuda {

Status launch_get_rows(const LaunchStream& s, DType src_dtype, const void* src, int64_t row0, const int32_t* row0_at,
                       DType dst_dtype, void* dst, int64_t n_rows, int64_t row_elements) {
  // A captured graph cannot move a memcpy's source per replay: a kernel reads row0 there.
  if (row0_at != nullptr)
    return launch_get_rows_at(s, src_dtype, src, dst_dtype, dst, row_elements, n_rows, row0, row0_at);
  const auto* first = static_cast<const uint8_t*>(src) + row0 * int64_t(dtype_row_bytes(src_dtype, row_elements));
  return launch_convert(s, src_dtype, first, dst_dtype, dst, n_rows * row_elements);
}

}  // namespace samepage::cuda
