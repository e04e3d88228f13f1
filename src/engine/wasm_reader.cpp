#include "engine/wasm_reader.h"

#include <cstdio>

namespace samepage {
namespace {

// RFC 3629 UTF-8, as the spec requires for names: no overlongs, no
// surrogates, nothing above U+10FFFF.
bool is_valid_utf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    const uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

}  // namespace

std::string hex_byte(uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%02x", value);
  return buf;
}

std::string printable_name(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    const auto byte = static_cast<uint8_t>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", byte);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

Status WasmReader::error_at(size_t offset, const std::string& what) const {
  char where[32];
  std::snprintf(where, sizeof(where), " at offset 0x%zx: ", offset);
  return err("engine::parse_module", std::string(context_) + where + what);
}

Status WasmReader::read_u8(uint8_t& out) {
  if (pos_ == end_) return error("unexpected end of data (truncated)");
  out = *pos_++;
  return Status::ok();
}

Status WasmReader::read_leb(uint64_t& out, unsigned n_bits, bool is_signed, const char* what) {
  const size_t start = offset();
  const unsigned max_bytes = (n_bits + 6) / 7;
  uint64_t result = 0;
  unsigned shift = 0;
  for (unsigned i = 0; i < max_bytes; ++i) {
    if (pos_ == end_) return error_at(start, std::string("truncated LEB128 ") + what);
    const uint8_t byte = *pos_++;
    if (i == max_bytes - 1) {
      // The last byte may only carry the bits that remain; for signed values
      // the unused high bits must repeat the sign bit.
      const unsigned used_bits = n_bits - 7 * i;
      bool fits = (byte & 0x80) == 0;
      if (!is_signed) {
        fits = fits && (byte >> used_bits) == 0;
      } else {
        const uint8_t mask = static_cast<uint8_t>(0x7f & ~((1u << (used_bits - 1)) - 1));
        fits = fits && ((byte & mask) == 0 || (byte & mask) == mask);
      }
      if (!fits) {
        return error_at(start, std::string("LEB128 overflow: ") + what + " is too long or too large");
      }
    }
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    shift += 7;
    if ((byte & 0x80) == 0) {
      if (is_signed && shift < 64 && (byte & 0x40)) result |= ~uint64_t{0} << shift;
      out = result;
      return Status::ok();
    }
  }
  return error_at(start, std::string("LEB128 overflow: ") + what + " is too long");
}

Status WasmReader::read_u32(uint32_t& out) {
  uint64_t v = 0;
  SP_TRY(read_leb(v, 32, false, "u32"));
  out = static_cast<uint32_t>(v);
  return Status::ok();
}

Status WasmReader::read_u64(uint64_t& out) { return read_leb(out, 64, false, "u64"); }

Status WasmReader::read_s32(int32_t& out) {
  uint64_t v = 0;
  SP_TRY(read_leb(v, 32, true, "s32"));
  out = static_cast<int32_t>(static_cast<uint32_t>(v));
  return Status::ok();
}

Status WasmReader::read_s33(int64_t& out) {
  uint64_t v = 0;
  SP_TRY(read_leb(v, 33, true, "s33"));
  out = static_cast<int64_t>(v);
  return Status::ok();
}

Status WasmReader::read_s64(int64_t& out) {
  uint64_t v = 0;
  SP_TRY(read_leb(v, 64, true, "s64"));
  out = static_cast<int64_t>(v);
  return Status::ok();
}

Status WasmReader::read_fixed_u32(uint32_t& out) {
  const uint8_t* p = nullptr;
  SP_TRY(read_bytes(4, p));
  out = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
        static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
  return Status::ok();
}

Status WasmReader::skip(size_t n_bytes) {
  const uint8_t* ignored = nullptr;
  return read_bytes(n_bytes, ignored);
}

Status WasmReader::read_bytes(size_t n_bytes, const uint8_t*& out) {
  if (n_bytes > remaining()) {
    return error("unexpected end of data (truncated): need " + std::to_string(n_bytes) +
                 " bytes, " + std::to_string(remaining()) + " left");
  }
  out = pos_;
  pos_ += n_bytes;
  return Status::ok();
}

Status WasmReader::read_count(uint32_t& out, const char* what, size_t min_element_bytes) {
  const size_t start = offset();
  SP_TRY(read_u32(out));
  if (min_element_bytes == 0) min_element_bytes = 1;
  if (out > remaining() / min_element_bytes) {
    return error_at(start, std::string(what) + " count " + std::to_string(out) +
                               " cannot fit in the " + std::to_string(remaining()) +
                               " bytes left");
  }
  return Status::ok();
}

Status WasmReader::read_name(std::string& out, const char* what) {
  const size_t start = offset();
  uint32_t n_bytes = 0;
  SP_TRY(read_u32(n_bytes));
  if (n_bytes > remaining()) {
    return error_at(start, std::string(what) + " length " + std::to_string(n_bytes) +
                               " exceeds the " + std::to_string(remaining()) + " bytes left");
  }
  const uint8_t* p = nullptr;
  SP_TRY(read_bytes(n_bytes, p));
  if (!is_valid_utf8(p, n_bytes)) return error_at(start, std::string(what) + " is not valid UTF-8");
  out.assign(reinterpret_cast<const char*>(p), n_bytes);
  return Status::ok();
}

Status WasmReader::sub_reader(size_t n_bytes, const char* context, WasmReader& out) {
  const size_t start = offset();
  const uint8_t* p = nullptr;
  SP_TRY(read_bytes(n_bytes, p));
  out = WasmReader(p, p + n_bytes, start, context);
  return Status::ok();
}

}  // namespace samepage
