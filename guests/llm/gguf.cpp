#include "gguf.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace llm {
namespace {

// Nested arrays recurse; real files nest at most once, so 8 is generous and
// keeps a hostile file from exhausting the (small, wasm) stack.
constexpr int kMaxArrayDepth = 8;

struct GgmlTypeInfo {
  const char* name;     // ggml's name for the type
  uint32_t block_elems; // elements per block; 0 for ids ggml does not use
  uint32_t block_bytes; // bytes per block
  bool supported;       // samepage can load it
};

// Indexed by ggml type id (ggml.h); ids 4 and 5 were removed upstream.
constexpr GgmlTypeInfo kGgmlTypes[] = {
    {"F32", 1, 4, true},       {"F16", 1, 2, true},     {"Q4_0", 32, 18, true},
    {"Q4_1", 32, 20, true},    {"unknown", 0, 0, false}, {"unknown", 0, 0, false},
    {"Q5_0", 0, 0, false},     {"Q5_1", 0, 0, false},   {"Q8_0", 32, 34, true},
    {"Q8_1", 0, 0, false},     {"Q2_K", 0, 0, false},   {"Q3_K", 0, 0, false},
    {"Q4_K", 0, 0, false},     {"Q5_K", 0, 0, false},   {"Q6_K", 0, 0, false},
    {"Q8_K", 0, 0, false},     {"IQ2_XXS", 0, 0, false}, {"IQ2_XS", 0, 0, false},
    {"IQ3_XXS", 0, 0, false},  {"IQ1_S", 0, 0, false},  {"IQ4_NL", 0, 0, false},
    {"IQ3_S", 0, 0, false},    {"IQ2_S", 0, 0, false},  {"IQ4_XS", 0, 0, false},
    {"I8", 0, 0, false},       {"I16", 0, 0, false},    {"I32", 0, 0, false},
    {"I64", 0, 0, false},      {"F64", 0, 0, false},    {"IQ1_M", 0, 0, false},
    {"BF16", 1, 2, true},      {"unknown", 0, 0, false}, {"unknown", 0, 0, false},
    {"unknown", 0, 0, false},  {"TQ1_0", 0, 0, false},  {"TQ2_0", 0, 0, false},
};
constexpr uint32_t kNumGgmlTypes = sizeof(kGgmlTypes) / sizeof(kGgmlTypes[0]);

// Bytes of one element of a fixed-size GGUF type; 0 for string and array.
uint64_t gguf_scalar_bytes(uint32_t type) {
  switch (type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
  }
}

Status fail(const std::string& what) { return Status::error("[gguf] " + what); }

// Printable form of an untrusted name for error messages: bounded, no control bytes.
std::string quoted(std::string_view name) {
  std::string out = "'";
  for (size_t i = 0; i < name.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (name.size() > 64) out += "...";
  return out + "'";
}

// A bounds-checked read position in the file.
struct Cursor {
  const uint8_t* data;  // the whole file
  size_t n_bytes;       // its size
  size_t pos;           // next byte to read

  size_t left() const { return n_bytes - pos; }

  Status read(void* out, size_t size, const char* what) {
    if (size > left()) {
      return fail("truncated at byte " + std::to_string(pos) + " reading " + what);
    }
    std::memcpy(out, data + pos, size);
    pos += size;
    return Status::ok();
  }
  Status read_u32(uint32_t* out, const char* what) { return read(out, 4, what); }
  Status read_u64(uint64_t* out, const char* what) { return read(out, 8, what); }

  Status read_string(std::string_view* out, const char* what) {
    uint64_t length = 0;
    Status s = read_u64(&length, what);
    if (!s.is_ok()) return s;
    if (length > left()) {
      return fail(std::string(what) + " at byte " + std::to_string(pos - 8) + " has length " +
                  std::to_string(length) + " but only " + std::to_string(left()) +
                  " bytes remain");
    }
    *out = std::string_view(reinterpret_cast<const char*>(data + pos), length);
    pos += length;
    return Status::ok();
  }
};

// Validates and skips one value of `type`; fills `value` when given (top level).
Status read_value(Cursor& cur, uint32_t type, int depth, GgufValue* value, std::string_view key) {
  if (type > GGUF_TYPE_FLOAT64) {
    return fail("key " + quoted(key) + " has unknown value type " + std::to_string(type));
  }
  if (value != nullptr) value->type = static_cast<GgufType>(type);
  if (const uint64_t size = gguf_scalar_bytes(type); size != 0) {
    if (value != nullptr) {
      value->payload = cur.data + cur.pos;
      value->n_payload_bytes = size;
    }
    if (size > cur.left()) return fail("truncated in the value of key " + quoted(key));
    if (type == GGUF_TYPE_BOOL && cur.data[cur.pos] > 1) {
      return fail("key " + quoted(key) + " has bool value " + std::to_string(cur.data[cur.pos]));
    }
    cur.pos += size;
    return Status::ok();
  }
  if (type == GGUF_TYPE_STRING) {
    std::string_view text;
    Status s = cur.read_string(&text, "string value");
    if (!s.is_ok()) return s;
    if (value != nullptr) {
      value->payload = reinterpret_cast<const uint8_t*>(text.data());
      value->n_payload_bytes = text.size();
    }
    return Status::ok();
  }
  // GGUF_TYPE_ARRAY
  if (depth >= kMaxArrayDepth) {
    return fail("key " + quoted(key) + " nests arrays deeper than " + std::to_string(kMaxArrayDepth));
  }
  uint32_t elem_type = 0;
  uint64_t n_elems = 0;
  Status s = cur.read_u32(&elem_type, "array element type");
  if (s.is_ok()) s = cur.read_u64(&n_elems, "array length");
  if (!s.is_ok()) return s;
  if (elem_type > GGUF_TYPE_FLOAT64) {
    return fail("array of key " + quoted(key) + " has unknown element type " +
                std::to_string(elem_type));
  }
  // Smallest encoding of one element: a scalar's size, a string's length
  // prefix, an array's type and count. Bounding here keeps every later loop
  // and allocation within the file's size.
  const uint64_t scalar = gguf_scalar_bytes(elem_type);
  const uint64_t min_elem_bytes = scalar != 0 ? scalar : (elem_type == GGUF_TYPE_STRING ? 8 : 12);
  if (n_elems > cur.left() / min_elem_bytes) {
    return fail("array of key " + quoted(key) + " claims " + std::to_string(n_elems) +
                " elements of " + gguf_type_name(elem_type) + " but only " +
                std::to_string(cur.left()) + " bytes remain");
  }
  const size_t start = cur.pos;
  if (value != nullptr) {
    value->elem_type = static_cast<GgufType>(elem_type);
    value->n_elems = n_elems;
    value->payload = cur.data + start;
    if (elem_type == GGUF_TYPE_STRING) value->string_offsets.reserve(n_elems);
  }
  if (scalar != 0 && elem_type != GGUF_TYPE_BOOL) {
    cur.pos += n_elems * scalar;  // fits: checked against left() above
  } else {
    for (uint64_t i = 0; i < n_elems; ++i) {
      if (value != nullptr && elem_type == GGUF_TYPE_STRING) {
        value->string_offsets.push_back(cur.pos - start);
      }
      s = read_value(cur, elem_type, depth + 1, nullptr, key);
      if (!s.is_ok()) return s;
    }
  }
  if (value != nullptr) value->n_payload_bytes = cur.pos - start;
  return Status::ok();
}

Status read_tensor_info(Cursor& cur, GgufTensor* t) {
  Status s = cur.read_string(&t->name, "tensor name");
  if (s.is_ok()) s = cur.read_u32(&t->n_dims, "tensor n_dims");
  if (!s.is_ok()) return s;
  if (t->n_dims == 0 || t->n_dims > kGgufMaxDims) {
    return fail("tensor " + quoted(t->name) + " has " + std::to_string(t->n_dims) +
                " dims; 1 to " + std::to_string(kGgufMaxDims) + " are allowed");
  }
  t->n_elems = 1;
  for (uint32_t d = 0; d < t->n_dims; ++d) {
    s = cur.read_u64(&t->dims[d], "tensor dim");
    if (!s.is_ok()) return s;
    if (t->dims[d] == 0) return fail("tensor " + quoted(t->name) + " has a zero dim");
    if (t->n_elems > UINT64_MAX / t->dims[d]) {
      return fail("tensor " + quoted(t->name) + " has an element count that overflows 64 bits");
    }
    t->n_elems *= t->dims[d];
  }
  uint32_t type = 0;
  s = cur.read_u32(&type, "tensor type");
  if (s.is_ok()) s = cur.read_u64(&t->offset, "tensor offset");
  if (!s.is_ok()) return s;
  if (type >= kNumGgmlTypes || kGgmlTypes[type].name == std::string_view("unknown")) {
    return fail("tensor " + quoted(t->name) + " has unknown ggml type " + std::to_string(type));
  }
  const GgmlTypeInfo& info = kGgmlTypes[type];
  if (!info.supported) {
    return fail("tensor " + quoted(t->name) + " has type " + info.name + " (" +
                std::to_string(type) + "), which samepage does not support yet (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1)");
  }
  t->type = static_cast<GgmlType>(type);
  // Blocks run along dim 0 (ggml's rule), so each row holds whole blocks.
  if (t->dims[0] % info.block_elems != 0) {
    return fail("tensor " + quoted(t->name) + " of type " + info.name + " has dim 0 of " +
                std::to_string(t->dims[0]) + ", not a multiple of its block size " +
                std::to_string(info.block_elems));
  }
  const uint64_t n_blocks = t->n_elems / info.block_elems;
  if (n_blocks > UINT64_MAX / info.block_bytes) {
    return fail("tensor " + quoted(t->name) + " has a byte size that overflows 64 bits");
  }
  t->n_bytes = n_blocks * info.block_bytes;
  return Status::ok();
}

// Tensor data: aligned, inside the file, and no two tensors share a byte.
Status place_tensors(std::vector<GgufTensor>& tensors, const uint8_t* data, size_t n_bytes,
                     uint64_t data_offset, uint32_t alignment) {
  const uint64_t data_bytes = n_bytes - data_offset;
  for (GgufTensor& t : tensors) {
    if (t.offset % alignment != 0) {
      return fail("tensor " + quoted(t.name) + " offset " + std::to_string(t.offset) +
                  " is not a multiple of the alignment " + std::to_string(alignment));
    }
    if (t.offset > data_bytes || t.n_bytes > data_bytes - t.offset) {
      return fail("tensor " + quoted(t.name) + " data [" + std::to_string(t.offset) + ", +" +
                  std::to_string(t.n_bytes) + ") runs past the end of the data section (" +
                  std::to_string(data_bytes) + " bytes)");
    }
    t.data = data + data_offset + t.offset;
  }
  std::vector<const GgufTensor*> by_offset;
  by_offset.reserve(tensors.size());
  for (const GgufTensor& t : tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensor* prev = by_offset[i - 1];
    if (by_offset[i]->offset < prev->offset + prev->n_bytes) {
      return fail("tensors " + quoted(prev->name) + " and " + quoted(by_offset[i]->name) +
                  " overlap in the data section");
    }
  }
  return Status::ok();
}

}  // namespace

const char* gguf_type_name(uint32_t type) {
  static const char* const kNames[] = {"uint8", "int8",   "uint16", "int16", "uint32",
                                       "int32", "float32", "bool",  "string", "array",
                                       "uint64", "int64",  "float64"};
  return type <= GGUF_TYPE_FLOAT64 ? kNames[type] : "unknown";
}

const char* ggml_type_name(uint32_t type) {
  return type < kNumGgmlTypes ? kGgmlTypes[type].name : "unknown";
}

std::string_view GgufValue::string_at(uint64_t i) const {
  const uint8_t* at = payload + string_offsets[i];
  uint64_t length = 0;
  std::memcpy(&length, at, 8);
  return std::string_view(reinterpret_cast<const char*>(at + 8), length);
}

Result<GgufFile> GgufFile::parse(const uint8_t* data, size_t n_bytes) {
  Cursor cur{data, n_bytes, 0};
  GgufFile file;
  char magic[4] = {};
  Status s = cur.read(magic, 4, "magic");
  if (!s.is_ok()) return s;
  if (std::memcmp(magic, "GGUF", 4) != 0) return fail("bad magic: not a GGUF file");
  s = cur.read_u32(&file.version_, "version");
  if (!s.is_ok()) return s;
  if (file.version_ != 2 && file.version_ != 3) {
    return fail("version " + std::to_string(file.version_) + " is not supported (only 2 and 3)");
  }
  uint64_t n_tensors = 0, n_kv = 0;
  s = cur.read_u64(&n_tensors, "tensor count");
  if (s.is_ok()) s = cur.read_u64(&n_kv, "metadata count");
  if (!s.is_ok()) return s;
  // Smallest kv: key length + type + a 1-byte value; smallest tensor info:
  // name length + n_dims + one dim + type + offset.
  if (n_kv > cur.left() / 13) {
    return fail("metadata count " + std::to_string(n_kv) + " is larger than the file allows");
  }
  if (n_tensors > cur.left() / 32) {
    return fail("tensor count " + std::to_string(n_tensors) + " is larger than the file allows");
  }
  // No reserve from the counts: the tables grow only as entries really parse,
  // so memory follows the bytes present, not what the header claims.
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string_view key;
    uint32_t type = 0;
    s = cur.read_string(&key, "metadata key");
    if (s.is_ok()) s = cur.read_u32(&type, "metadata value type");
    if (!s.is_ok()) return s;
    GgufValue value;
    s = read_value(cur, type, 0, &value, key);
    if (!s.is_ok()) return s;
    if (!file.key_index_.emplace(key, file.values_.size()).second) {
      return fail("metadata key " + quoted(key) + " appears twice");
    }
    file.keys_.push_back(key);
    file.values_.push_back(std::move(value));
  }
  if (const GgufValue* align = file.find("general.alignment")) {
    if (align->type != GGUF_TYPE_UINT32) {
      return fail(std::string("general.alignment has type ") + gguf_type_name(align->type) +
                  ", expected uint32");
    }
    std::memcpy(&file.alignment_, align->payload, 4);
    if (file.alignment_ == 0 || (file.alignment_ & (file.alignment_ - 1)) != 0) {
      return fail("general.alignment " + std::to_string(file.alignment_) +
                  " is not a nonzero power of two");
    }
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    s = read_tensor_info(cur, &t);
    if (!s.is_ok()) return s;
    if (!file.tensor_index_.emplace(t.name, file.tensors_.size()).second) {
      return fail("tensor name " + quoted(t.name) + " appears twice");
    }
    file.tensors_.push_back(t);
  }
  // cur.pos <= n_bytes, so rounding up cannot overflow 64 bits.
  const uint64_t align = file.alignment_;
  file.data_offset_ = (static_cast<uint64_t>(cur.pos) + align - 1) / align * align;
  if (file.data_offset_ > n_bytes) {
    if (n_tensors == 0) {
      file.data_offset_ = n_bytes;  // no tensors: nothing follows the header
    } else {
      return fail("truncated: the data section would start at byte " +
                  std::to_string(file.data_offset_) + " of a " + std::to_string(n_bytes) +
                  "-byte file");
    }
  }
  s = place_tensors(file.tensors_, data, n_bytes, file.data_offset_, file.alignment_);
  if (!s.is_ok()) return s;
  return file;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &values_[it->second];
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<const GgufValue*> GgufFile::typed(std::string_view key, GgufType type) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return fail("metadata key " + quoted(key) + " is missing");
  if (v->type != type) {
    return fail("metadata key " + quoted(key) + " has type " + gguf_type_name(v->type) +
                ", expected " + gguf_type_name(type));
  }
  return v;
}

template <typename T>
static Result<T> scalar_of(Result<const GgufValue*> v) {
  if (!v.is_ok()) return v.status();
  T out{};
  std::memcpy(&out, v.value()->payload, sizeof(T));
  return out;
}

Result<uint32_t> GgufFile::get_u32(std::string_view key) const {
  return scalar_of<uint32_t>(typed(key, GGUF_TYPE_UINT32));
}
Result<int32_t> GgufFile::get_i32(std::string_view key) const {
  return scalar_of<int32_t>(typed(key, GGUF_TYPE_INT32));
}
Result<uint64_t> GgufFile::get_u64(std::string_view key) const {
  return scalar_of<uint64_t>(typed(key, GGUF_TYPE_UINT64));
}
Result<float> GgufFile::get_f32(std::string_view key) const {
  return scalar_of<float>(typed(key, GGUF_TYPE_FLOAT32));
}
Result<bool> GgufFile::get_bool(std::string_view key) const {
  Result<uint8_t> byte = scalar_of<uint8_t>(typed(key, GGUF_TYPE_BOOL));
  if (!byte.is_ok()) return byte.status();
  return byte.value() != 0;
}
Result<std::string_view> GgufFile::get_string(std::string_view key) const {
  Result<const GgufValue*> v = typed(key, GGUF_TYPE_STRING);
  if (!v.is_ok()) return v.status();
  return std::string_view(reinterpret_cast<const char*>(v.value()->payload),
                          v.value()->n_payload_bytes);
}
Result<const GgufValue*> GgufFile::get_array(std::string_view key, GgufType elem_type) const {
  Result<const GgufValue*> v = typed(key, GGUF_TYPE_ARRAY);
  if (!v.is_ok()) return v;
  if (v.value()->elem_type != elem_type) {
    return fail("metadata key " + quoted(key) + " is an array of " +
                gguf_type_name(v.value()->elem_type) + ", expected " + gguf_type_name(elem_type));
  }
  return v;
}

}  // namespace llm
