// Decoding of the type-level pieces of a module: value and reference types,
// memory and table limits, global types. Each notes the post-MVP features
// its encoding implies (v128, externref, shared or 64-bit memory).
#pragma once

#include "engine/wasm_reader.h"
#include "samepage/module_info.h"

namespace samepage {

// A value type byte: i32, i64, f32, f64, v128, funcref or externref.
Status read_val_type(WasmReader& reader, ValType& out, FeatureSet& features);

// A reference type byte: funcref or externref.
Status read_ref_type(WasmReader& reader, ValType& out, FeatureSet& features);

// Memory limits: flags (bit 0 has max, bit 1 shared, bit 2 memory64), then
// min and max pages. Checks min <= max and the page limit of the index type.
Status read_memory_limits(WasmReader& reader, MemoryLimits& out, FeatureSet& features);

// A table type: reference type, then flags and min/max entries.
Status read_table_type(WasmReader& reader, TableLimits& out, FeatureSet& features);

// A global type: value type, then mutability (0 or 1).
Status read_global_type(WasmReader& reader, ValType& type, bool& is_mutable, FeatureSet& features);

}  // namespace samepage
