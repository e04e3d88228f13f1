// The safetensors header: a strict JSON reader for exactly the shape the
// format has (one object of tensor objects and "__metadata__"), no recursion
// and no numbers beyond 2^53, and the writer's matching emitter.
#include "safetensors.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_set>

namespace llm {
namespace {

Status fail(const std::string& what) { return Status::error("[safetensors] " + what); }

constexpr uint64_t kMaxJsonInteger = uint64_t{1} << 53;

struct Json {
  const char* p;
  const char* end;
  const char* start;  // for offsets in messages
  Status error = Status::ok();

  bool failed(const std::string& what) {
    if (error.is_ok()) error = fail("header: " + what);
    return false;
  }
  void skip_space() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool expect(char c) {
    skip_space();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return failed(std::string("expected '") + c + "' at byte " + std::to_string(offset()));
  }
  bool peek(char c) {
    skip_space();
    return p < end && *p == c;
  }
  size_t offset() const { return size_t(p - start); }

  static void put_utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += char(cp);
    } else if (cp < 0x800) {
      *out += char(0xc0 | (cp >> 6));
      *out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      *out += char(0xe0 | (cp >> 12));
      *out += char(0x80 | ((cp >> 6) & 0x3f));
      *out += char(0x80 | (cp & 0x3f));
    } else {
      *out += char(0xf0 | (cp >> 18));
      *out += char(0x80 | ((cp >> 12) & 0x3f));
      *out += char(0x80 | ((cp >> 6) & 0x3f));
      *out += char(0x80 | (cp & 0x3f));
    }
  }
  bool hex4(uint32_t* out) {
    if (end - p < 4) return failed("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else return failed("bad \\u escape");
    }
    *out = v;
    return true;
  }
  bool string(std::string* out) {
    if (!expect('"')) return false;
    out->clear();
    while (p < end && *p != '"') {
      const unsigned char c = static_cast<unsigned char>(*p++);
      if (c < 0x20) return failed("control character in a string");
      if (c != '\\') {
        *out += char(c);
        continue;
      }
      if (p >= end) break;
      const char e = *p++;
      switch (e) {
        case '"': *out += '"'; break;
        case '\\': *out += '\\'; break;
        case '/': *out += '/'; break;
        case 'b': *out += '\b'; break;
        case 'f': *out += '\f'; break;
        case 'n': *out += '\n'; break;
        case 'r': *out += '\r'; break;
        case 't': *out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {  // a high surrogate needs its low half
            uint32_t lo = 0;
            if (end - p < 2 || p[0] != '\\' || p[1] != 'u') return failed("unpaired surrogate");
            p += 2;
            if (!hex4(&lo)) return false;
            if (lo < 0xdc00 || lo > 0xdfff) return failed("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return failed("unpaired surrogate");
          }
          put_utf8(cp, out);
          break;
        }
        default: return failed("bad escape in a string");
      }
    }
    if (p >= end) return failed("unterminated string");
    ++p;
    return true;
  }
  bool integer(uint64_t* out) {
    skip_space();
    if (p >= end || *p < '0' || *p > '9') return failed("expected an unsigned integer at byte " + std::to_string(offset()));
    if (*p == '0' && end - p > 1 && p[1] >= '0' && p[1] <= '9') return failed("leading zero in a number");
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      v = v * 10 + uint64_t(*p++ - '0');
      if (v > kMaxJsonInteger) return failed("number too large");
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return failed("expected an integer, got a fraction");
    *out = v;
    return true;
  }
  // [n, n, ...] of at most max_items integers.
  bool integers(std::vector<uint64_t>* out, size_t max_items) {
    out->clear();
    if (!expect('[')) return false;
    if (peek(']')) return expect(']');
    for (;;) {
      uint64_t v = 0;
      if (!integer(&v)) return false;
      if (out->size() == max_items) return failed("more than " + std::to_string(max_items) + " entries in a list");
      out->push_back(v);
      if (peek(',')) {
        ++p;
        continue;
      }
      return expect(']');
    }
  }
};

bool dtype_from_name(const std::string& name, StDtype* out) {
  for (StDtype d : {StDtype::St_f32, StDtype::St_f16, StDtype::St_bf16, StDtype::St_i32, StDtype::St_u8})
    if (name == st_dtype_name(d)) {
      *out = d;
      return true;
    }
  return false;
}

// {"dtype": ..., "shape": [...], "data_offsets": [b, e]}, each key once.
bool tensor_entry(Json& j, StTensor* t) {
  if (!j.expect('{')) return false;
  bool has_dtype = false, has_shape = false, has_offsets = false;
  std::string key, value;
  for (bool first = true;; first = false) {
    if (j.peek('}')) {
      if (first) return j.failed("tensor '" + t->name + "' has no fields");
      ++j.p;
      break;
    }
    if (!first && !j.expect(',')) return false;
    if (!j.string(&key) || !j.expect(':')) return false;
    if (key == "dtype" && !has_dtype) {
      has_dtype = true;
      if (!j.string(&value)) return false;
      if (!dtype_from_name(value, &t->dtype)) return j.failed("tensor '" + t->name + "': unsupported dtype '" + value + "'");
    } else if (key == "shape" && !has_shape) {
      has_shape = true;
      if (!j.integers(&t->shape, kStMaxDims)) return false;
    } else if (key == "data_offsets" && !has_offsets) {
      has_offsets = true;
      std::vector<uint64_t> offsets;
      if (!j.integers(&offsets, 2)) return false;
      if (offsets.size() != 2) return j.failed("tensor '" + t->name + "': data_offsets must be [begin, end]");
      t->begin = offsets[0];
      t->end = offsets[1];
    } else {
      return j.failed("tensor '" + t->name + "': unexpected or repeated field '" + key + "'");
    }
  }
  if (!has_dtype || !has_shape || !has_offsets)
    return j.failed("tensor '" + t->name + "' needs dtype, shape and data_offsets");
  return true;
}

bool metadata_entry(Json& j, std::vector<std::pair<std::string, std::string>>* out) {
  if (!j.expect('{')) return false;
  std::string key, value;
  for (bool first = true;; first = false) {
    if (j.peek('}')) {
      ++j.p;
      return true;
    }
    if (!first && !j.expect(',')) return false;
    if (!j.string(&key) || !j.expect(':') || !j.string(&value)) return false;
    if (out->size() >= kStMaxTensors) return j.failed("too many metadata entries");
    out->emplace_back(key, value);
  }
}

}  // namespace

const char* st_dtype_name(StDtype dtype) {
  switch (dtype) {
    case StDtype::St_f32: return "F32";
    case StDtype::St_f16: return "F16";
    case StDtype::St_bf16: return "BF16";
    case StDtype::St_i32: return "I32";
    case StDtype::St_u8: return "U8";
  }
  return "?";
}

size_t st_dtype_size(StDtype dtype) {
  switch (dtype) {
    case StDtype::St_f32:
    case StDtype::St_i32: return 4;
    case StDtype::St_f16:
    case StDtype::St_bf16: return 2;
    case StDtype::St_u8: return 1;
  }
  return 1;
}

uint64_t StTensor::n_elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

const StTensor* SafetensorsFile::find(std::string_view name) const {
  for (const StTensor& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const std::string* SafetensorsFile::metadata(std::string_view key) const {
  for (const auto& kv : metadata_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Result<SafetensorsFile> SafetensorsFile::parse(const uint8_t* bytes, size_t n_bytes) {
  if (n_bytes < 8) return fail("the file is " + std::to_string(n_bytes) + " bytes: too short for the header length");
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | bytes[i];
  if (header_bytes < 2 || header_bytes > kStMaxHeaderBytes || header_bytes > n_bytes - 8)
    return fail("header length " + std::to_string(header_bytes) + " does not fit the file of " +
                std::to_string(n_bytes) + " bytes (truncated or not a safetensors file)");
  const uint8_t* data = bytes + 8 + header_bytes;
  const uint64_t n_data = n_bytes - 8 - header_bytes;
  const char* header = reinterpret_cast<const char*>(bytes + 8);
  Json j{header, reinterpret_cast<const char*>(data), header};
  SafetensorsFile file;
  bool has_metadata = false;
  std::string key;
  if (!j.expect('{')) return j.error;
  for (bool first = true;; first = false) {
    if (j.peek('}')) {
      ++j.p;
      break;
    }
    if (!first && !j.expect(',')) return j.error;
    if (!j.string(&key) || !j.expect(':')) return j.error;
    if (key == "__metadata__") {
      if (has_metadata) return fail("header: __metadata__ repeated");
      has_metadata = true;
      if (!metadata_entry(j, &file.metadata_)) return j.error;
      continue;
    }
    if (file.tensors_.size() >= kStMaxTensors) return fail("more than " + std::to_string(kStMaxTensors) + " tensors");
    StTensor t;
    t.name = key;
    if (!tensor_entry(j, &t)) return j.error;
    file.tensors_.push_back(std::move(t));
  }
  j.skip_space();
  if (j.p != j.end) return fail("header: bytes after the closing brace");
  // Names are unique: hashed once each (comparing every pair was quadratic
  // in a hostile header's thousands of long names that share a prefix).
  std::unordered_set<std::string_view> seen;
  for (const auto& kv : file.metadata_)
    if (!seen.insert(kv.first).second) return fail("metadata key '" + kv.first + "' repeated");
  seen.clear();
  for (const StTensor& t : file.tensors_)
    if (!seen.insert(t.name).second) return fail("tensor '" + t.name + "' repeated");

  // Sizes: each shape's bytes, overflow-checked, must be its offsets' span.
  for (StTensor& t : file.tensors_) {
    uint64_t n = st_dtype_size(t.dtype);
    for (uint64_t d : t.shape) {
      if (d != 0 && n > n_data / d) return fail("tensor '" + t.name + "': its shape is larger than the data");
      n *= d;
    }
    if (t.begin > t.end || t.end > n_data)
      return fail("tensor '" + t.name + "': data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                  "] outside the data of " + std::to_string(n_data) + " bytes");
    if (t.end - t.begin != n)
      return fail("tensor '" + t.name + "': data_offsets hold " + std::to_string(t.end - t.begin) + " bytes, its shape " +
                  std::to_string(n));
    t.data = data + t.begin;
  }
  // The tensors tile the data: sorted by offset, each starts where the last ended.
  std::vector<const StTensor*> order;
  for (const StTensor& t : file.tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const StTensor* a, const StTensor* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t at = 0;
  for (const StTensor* t : order) {
    if (t->begin != at) return fail("tensor '" + t->name + "' leaves a gap or overlaps another in the data");
    at = t->end;
  }
  if (at != n_data) return fail("the data has " + std::to_string(n_data - at) + " bytes no tensor covers");
  return file;
}

std::string json_quote(std::string_view text) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

void SafetensorsWriter::add_metadata(std::string key, std::string value) {
  metadata_.emplace_back(std::move(key), std::move(value));
}

size_t SafetensorsWriter::add_tensor(std::string name, StDtype dtype, std::vector<uint64_t> shape) {
  StTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.begin = tensors_.empty() ? 0 : tensors_.back().end;
  t.end = t.begin + t.n_elements() * st_dtype_size(dtype);
  tensors_.push_back(std::move(t));
  return tensors_.size() - 1;
}

std::vector<uint8_t> SafetensorsWriter::finish() {
  std::string h = "{\"__metadata__\":{";
  for (size_t i = 0; i < metadata_.size(); ++i)
    h += (i ? "," : "") + json_quote(metadata_[i].first) + ":" + json_quote(metadata_[i].second);
  h += "}";
  for (const StTensor& t : tensors_) {
    h += "," + json_quote(t.name) + ":{\"dtype\":\"" + st_dtype_name(t.dtype) + "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) h += (d ? "," : "") + std::to_string(t.shape[d]);
    h += "],\"data_offsets\":[" + std::to_string(t.begin) + "," + std::to_string(t.end) + "]}";
  }
  h += "}";
  while ((8 + h.size()) % 8 != 0) h += ' ';  // data 8-byte aligned, as the format's own writer pads
  const uint64_t n_data = tensors_.empty() ? 0 : tensors_.back().end;
  data_start_ = 8 + h.size();
  std::vector<uint8_t> file(data_start_ + n_data, 0);
  for (int i = 0; i < 8; ++i) file[size_t(i)] = uint8_t(uint64_t(h.size()) >> (8 * i));
  std::memcpy(file.data() + 8, h.data(), h.size());
  return file;
}

uint8_t* SafetensorsWriter::data_of(std::vector<uint8_t>& file, size_t index) const {
  return file.data() + data_start_ + tensors_[index].begin;
}

}  // namespace llm
