#include "engine/wasm_types.h"

namespace samepage {
namespace {

constexpr uint64_t kMaxPages32 = 65536;  // 4 GiB of 64 KiB pages
constexpr uint64_t kMaxPages64 = uint64_t{1} << 48;

}  // namespace

Status read_val_type(WasmReader& reader, ValType& out, FeatureSet& features) {
  const size_t at = reader.offset();
  uint8_t byte = 0;
  SP_TRY(reader.read_u8(byte));
  switch (byte) {
    case 0x7f: case 0x7e: case 0x7d: case 0x7c:
      break;
    case 0x7b:
      features.simd = true;
      break;
    case 0x70: case 0x6f:
      // References as values (params, locals, globals) need reference types;
      // MVP funcref tables go through read_ref_type.
      features.reference_types = true;
      break;
    default:
      return reader.error_at(at, "unknown value type " + hex_byte(byte));
  }
  out = static_cast<ValType>(byte);
  return Status::ok();
}

Status read_ref_type(WasmReader& reader, ValType& out, FeatureSet& features) {
  const size_t at = reader.offset();
  uint8_t byte = 0;
  SP_TRY(reader.read_u8(byte));
  if (byte == 0x6f) {
    features.reference_types = true;
  } else if (byte != 0x70) {
    return reader.error_at(at, "unknown reference type " + hex_byte(byte));
  }
  out = static_cast<ValType>(byte);
  return Status::ok();
}

Status read_memory_limits(WasmReader& reader, MemoryLimits& out, FeatureSet& features) {
  const size_t at = reader.offset();
  uint8_t flags = 0;
  SP_TRY(reader.read_u8(flags));
  if (flags > 7) return reader.error_at(at, "unknown memory limits flags " + hex_byte(flags));
  out.has_max = flags & 1;
  out.shared = flags & 2;
  out.is64 = flags & 4;
  if (out.is64) {
    SP_TRY(reader.read_u64(out.min_pages));
    if (out.has_max) SP_TRY(reader.read_u64(out.max_pages));
  } else {
    uint32_t min = 0, max = 0;
    SP_TRY(reader.read_u32(min));
    if (out.has_max) SP_TRY(reader.read_u32(max));
    out.min_pages = min;
    out.max_pages = max;
  }
  const uint64_t limit = out.is64 ? kMaxPages64 : kMaxPages32;
  if (out.min_pages > limit || (out.has_max && out.max_pages > limit)) {
    return reader.error_at(at, "memory size exceeds " + std::to_string(limit) + " pages");
  }
  if (out.has_max && out.min_pages > out.max_pages) {
    return reader.error_at(at, "memory minimum " + std::to_string(out.min_pages) + " pages exceeds its maximum " +
                              std::to_string(out.max_pages));
  }
  if (out.shared && !out.has_max) return reader.error_at(at, "shared memory must have a maximum size");
  if (out.shared) features.threads = true;
  if (out.is64) features.memory64 = true;
  return Status::ok();
}

Status read_table_type(WasmReader& reader, TableLimits& out, FeatureSet& features) {
  SP_TRY(read_ref_type(reader, out.elem_type, features));
  const size_t at = reader.offset();
  uint8_t flags = 0;
  SP_TRY(reader.read_u8(flags));
  if (flags > 1) return reader.error_at(at, "unknown table limits flags " + hex_byte(flags));
  uint32_t min = 0, max = 0;
  SP_TRY(reader.read_u32(min));
  if (flags & 1) SP_TRY(reader.read_u32(max));
  out.min_entries = min;
  out.has_max = flags & 1;
  out.max_entries = max;
  if (out.has_max && min > max) {
    return reader.error_at(at, "table minimum " + std::to_string(min) + " exceeds its maximum " + std::to_string(max));
  }
  return Status::ok();
}

Status read_global_type(WasmReader& reader, ValType& type, bool& is_mutable, FeatureSet& features) {
  SP_TRY(read_val_type(reader, type, features));
  const size_t at = reader.offset();
  uint8_t mut = 0;
  SP_TRY(reader.read_u8(mut));
  if (mut > 1) return reader.error_at(at, "global mutability must be 0 or 1, not " + hex_byte(mut));
  is_mutable = mut == 1;
  return Status::ok();
}

}  // namespace samepage
