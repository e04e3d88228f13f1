// Bounds-checked cursor over the bytes of a WebAssembly binary. Every read
// checks what is left and fails with a message naming the current section
// and the absolute byte offset in the file; nothing reads past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "samepage/status.h"

namespace samepage {

// Returns the status from `expr` when it is an error.
#define SP_TRY(expr)                       \
  do {                                     \
    ::samepage::Status sp_try_ = (expr);   \
    if (!sp_try_.is_ok()) return sp_try_;  \
  } while (0)

class WasmReader {
 public:
  // `file_offset` is the offset of `begin` in the file, for messages;
  // `context` names what is being read ("type section") and must outlive the reader.
  WasmReader(const uint8_t* begin, const uint8_t* end, size_t file_offset, const char* context)
      : begin_(begin), pos_(begin), end_(end), file_offset_(file_offset), context_(context) {}

  size_t offset() const { return file_offset_ + static_cast<size_t>(pos_ - begin_); }
  size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
  bool at_end() const { return pos_ == end_; }
  const char* context() const { return context_; }
  void set_context(const char* context) { context_ = context; }

  // "[engine::parse_module] <context> at offset 0x1f: <what>".
  Status error(const std::string& what) const { return error_at(offset(), what); }
  Status error_at(size_t offset, const std::string& what) const;

  Status read_u8(uint8_t& out);
  Status read_u32(uint32_t& out);  // unsigned LEB128, at most 5 bytes
  Status read_u64(uint64_t& out);  // unsigned LEB128, at most 10 bytes
  Status read_s32(int32_t& out);   // signed LEB128, at most 5 bytes
  Status read_s33(int64_t& out);   // signed LEB128 (block types), at most 5 bytes
  Status read_s64(int64_t& out);   // signed LEB128, at most 10 bytes
  Status read_fixed_u32(uint32_t& out);  // 4 bytes, little-endian
  Status skip(size_t n_bytes);
  Status read_bytes(size_t n_bytes, const uint8_t*& out);

  // A vector length. Fails when the vector could not fit in the bytes left,
  // given that each element takes at least `min_element_bytes`: callers may
  // then reserve `out` elements without trusting the file.
  Status read_count(uint32_t& out, const char* what, size_t min_element_bytes = 1);

  // A length-prefixed UTF-8 name.
  Status read_name(std::string& out, const char* what);

  // Splits off the next `n_bytes` as a reader of their own and skips them here.
  Status sub_reader(size_t n_bytes, const char* context, WasmReader& out);

 private:
  Status read_leb(uint64_t& out, unsigned n_bits, bool is_signed, const char* what);

  const uint8_t* begin_;
  const uint8_t* pos_;
  const uint8_t* end_;
  size_t file_offset_;
  const char* context_;
};

// Hex of a byte or an opcode for messages: 0x0b.
std::string hex_byte(uint32_t value);

// A name from the file, safe to print: control characters become \xNN.
std::string printable_name(const std::string& name);

}  // namespace samepage
