// get_rows.cu: a row range of a tensor read out, converted (sp_get_rows).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "backends/cuda/launch.h"
#include "samepage/dtype.h"
#include "samepage/status.h"

namespace samepage::cuda {

// dst (n_rows, row_elements) of dst_dtype = src rows [row0, row0 + n_rows)
// of src_dtype; f32/f16/bf16 both sides (validated by the host API). In a
// replayed graph row0 is a parameter: row0_at points at it on the device.
Status launch_get_rows(const LaunchStream& s, DType src_dtype, const void* src, int64_t row0, const int32_t* row0_at,
                       DType dst_dtype, void* dst, int64_t n_rows, int64_t row_elements);

}  // namespace samepage::cuda
