#include "engine/wasm_instructions.h"

#include "engine/wasm_types.h"

namespace samepage {
namespace {

// 0xfd sub-opcodes left unassigned by SIMD and relaxed SIMD (WABT 1.0.32's
// opcode.def); everything else up to 0x113 exists.
bool is_simd_gap(uint32_t sub) {
  switch (sub) {
    case 0x9a: case 0xa2: case 0xa5: case 0xa6: case 0xaf: case 0xb0: case 0xb2:
    case 0xb3: case 0xb4: case 0xbb: case 0xc2: case 0xc5: case 0xc6: case 0xcf:
    case 0xd0: case 0xd2: case 0xd3: case 0xd4: case 0xe2: case 0xee:
      return true;
    default:
      return false;
  }
}

// Opcodes allowed in a constant expression: the MVP set plus v128.const, and
// the integer arithmetic of the extended-const proposal (reported separately).
bool is_mvp_const_op(uint8_t op) {
  return (op >= 0x41 && op <= 0x44) || op == 0x23 || op == 0xd0 || op == 0xd2 || op == 0x0b;
}
bool is_extended_const_op(uint8_t op) {
  return op == 0x6a || op == 0x6b || op == 0x6c || op == 0x7c || op == 0x7d || op == 0x7e;
}

class ExprScanner {
 public:
  ExprScanner(WasmReader& reader, const CodeContext& ctx, ExprKind kind, uint64_t n_locals,
              const std::string& what, FeatureSet& features)
      : r_(reader), ctx_(ctx), kind_(kind), n_locals_(n_locals), what_(what), features_(features) {}

  Status scan() {
    for (;;) {
      if (r_.at_end()) {
        return r_.error(what_ + ": ends without its final 'end' (" + std::to_string(depth_ + 1) +
                        " blocks still open)");
      }
      op_offset_ = r_.offset();
      uint8_t op = 0;
      SP_TRY(r_.read_u8(op));
      if (kind_ == ExprKind::ExprKind_const) SP_TRY(check_const_op(op));
      if (op == 0x0b) {  // end
        if (depth_ == 0) break;
        --depth_;
        continue;
      }
      SP_TRY(scan_op(op));
    }
    if (kind_ == ExprKind::ExprKind_function_body && !r_.at_end()) {
      return r_.error(what_ + ": " + std::to_string(r_.remaining()) +
                      " bytes follow the final 'end' of the body");
    }
    return Status::ok();
  }

 private:
  Status fail(const std::string& msg) const { return r_.error_at(op_offset_, what_ + ": " + msg); }

  Status check_const_op(uint8_t op) {
    if (is_mvp_const_op(op) || op == 0xfd) return Status::ok();  // 0xfd: only v128.const, checked below
    if (is_extended_const_op(op)) {
      features_.extended_const = true;
      return Status::ok();
    }
    return fail("opcode " + hex_byte(op) + " is not allowed in a constant expression");
  }

  Status check_index(uint64_t index, uint64_t limit, const char* space) const {
    if (index < limit) return Status::ok();
    return fail(std::string(space) + " index " + std::to_string(index) + " out of range (module has " +
                std::to_string(limit) + ")");
  }

  Status read_index(uint64_t limit, const char* space, uint32_t* out = nullptr) {
    uint32_t index = 0;
    SP_TRY(r_.read_u32(index));
    SP_TRY(check_index(index, limit, space));
    if (out != nullptr) *out = index;
    return Status::ok();
  }

  uint64_t n_functions() const { return ctx_.func_type_indices->size(); }
  uint64_t n_types() const { return ctx_.types->size(); }
  uint64_t n_memories() const { return ctx_.memory_is64->size(); }

  Status read_block_type() {
    int64_t block_type = 0;
    SP_TRY(r_.read_s33(block_type));
    if (block_type >= 0) {
      // A type index as block type is how multi-value blocks are encoded.
      features_.multi_value = true;
      return check_index(static_cast<uint64_t>(block_type), n_types(), "block type");
    }
    switch (block_type) {
      case -0x40: case -0x01: case -0x02: case -0x03: case -0x04:  // empty, i32, i64, f32, f64
        return Status::ok();
      case -0x05:  // v128
        features_.simd = true;
        return Status::ok();
      case -0x10: case -0x11:  // funcref, externref
        features_.reference_types = true;
        return Status::ok();
      default:
        return fail("invalid block type " + std::to_string(block_type));
    }
  }

  Status read_memory_index() {
    uint32_t memory = 0;
    SP_TRY(read_index(n_memories(), "memory", &memory));
    return Status::ok();
  }

  // align (bit 6 set: a memory index follows, multi-memory), then offset,
  // which is a u64 for a memory64 memory.
  Status read_memarg() {
    uint32_t align = 0;
    SP_TRY(r_.read_u32(align));
    uint32_t memory = 0;
    if (align & 0x40) {
      SP_TRY(r_.read_u32(memory));
      align &= ~0x40u;
    }
    SP_TRY(check_index(memory, n_memories(), "memory"));
    if (align >= 32) return fail("alignment 2^" + std::to_string(align) + " is too large");
    uint64_t offset = 0;
    if ((*ctx_.memory_is64)[memory]) return r_.read_u64(offset);
    uint32_t offset32 = 0;
    return r_.read_u32(offset32);
  }

  Status read_lane() {
    uint8_t lane = 0;
    SP_TRY(r_.read_u8(lane));
    if (lane >= 16) return fail("lane index " + std::to_string(lane) + " out of range");
    return Status::ok();
  }

  Status read_data_index() {
    if (!ctx_.has_data_count) return fail("memory.init and data.drop need a datacount section");
    return read_index(ctx_.n_data_segments, "data segment");
  }

  Status scan_op(uint8_t op) {
    uint32_t u32 = 0;
    switch (op) {
      case 0x00: case 0x01: case 0x0f: case 0x1a: case 0x1b:  // unreachable nop return drop select
        return Status::ok();
      case 0x02: case 0x03: case 0x04:  // block loop if
        ++depth_;
        return read_block_type();
      case 0x05:  // else
        if (depth_ == 0) return fail("'else' outside a block");
        return Status::ok();
      case 0x06:  // try
        features_.exceptions = true;
        ++depth_;
        return read_block_type();
      case 0x07: case 0x08:  // catch, throw
        features_.exceptions = true;
        return read_index(ctx_.n_tags, "tag");
      case 0x09:  // rethrow
        features_.exceptions = true;
        return r_.read_u32(u32);
      case 0x0a:  // throw_ref (newer exception proposal)
        features_.exceptions = true;
        return Status::ok();
      case 0x18:  // delegate: closes its try like an end
        features_.exceptions = true;
        if (depth_ == 0) return fail("'delegate' outside a try block");
        --depth_;
        return r_.read_u32(u32);
      case 0x19:  // catch_all
        features_.exceptions = true;
        return Status::ok();
      case 0x0c: case 0x0d:  // br br_if
        return r_.read_u32(u32);
      case 0x0e: {  // br_table: labels, then the default label
        uint32_t n_labels = 0;
        SP_TRY(r_.read_count(n_labels, "br_table label"));
        for (uint64_t i = 0; i <= n_labels; ++i) SP_TRY(r_.read_u32(u32));
        return Status::ok();
      }
      case 0x12:  // return_call
        features_.tail_call = true;
        [[fallthrough]];
      case 0x10:  // call
        return read_index(n_functions(), "function");
      case 0x13:  // return_call_indirect
        features_.tail_call = true;
        [[fallthrough]];
      case 0x11: {  // call_indirect: type, then table (a 0x00 byte before reference types)
        SP_TRY(read_index(n_types(), "type"));
        uint32_t table = 0;
        SP_TRY(read_index(ctx_.n_tables, "table", &table));
        if (table != 0) features_.reference_types = true;
        return Status::ok();
      }
      case 0x1c: {  // select with types
        features_.reference_types = true;
        uint32_t n_types_here = 0;
        SP_TRY(r_.read_count(n_types_here, "select type"));
        for (uint32_t i = 0; i < n_types_here; ++i) {
          ValType type{};
          SP_TRY(read_val_type(r_, type, features_));
        }
        return Status::ok();
      }
      case 0x20: case 0x21: case 0x22:  // local.get local.set local.tee
        return read_index(n_locals_, "local");
      case 0x23: case 0x24:  // global.get global.set
        return read_index(ctx_.n_globals, "global");
      case 0x25: case 0x26:  // table.get table.set
        features_.reference_types = true;
        return read_index(ctx_.n_tables, "table");
      case 0x3f: case 0x40:  // memory.size memory.grow
        return read_memory_index();
      case 0x41: {
        int32_t value = 0;
        return r_.read_s32(value);
      }
      case 0x42: {
        int64_t value = 0;
        return r_.read_s64(value);
      }
      case 0x43:
        return r_.skip(4);
      case 0x44:
        return r_.skip(8);
      case 0xd0: {  // ref.null
        features_.reference_types = true;
        ValType type{};
        return read_ref_type(r_, type, features_);
      }
      case 0xd1:  // ref.is_null
        features_.reference_types = true;
        return Status::ok();
      case 0xd2:  // ref.func
        features_.reference_types = true;
        return read_index(n_functions(), "function");
      case 0xfc:
        return scan_prefix_fc();
      case 0xfd:
        return scan_prefix_simd();
      case 0xfe:
        return scan_prefix_atomic();
      default:
        break;
    }
    if (op >= 0x28 && op <= 0x3e) return read_memarg();  // loads and stores
    if (op >= 0x45 && op <= 0xbf) return Status::ok();   // numeric, no immediates
    if (op >= 0xc0 && op <= 0xc4) {
      features_.sign_extension = true;
      return Status::ok();
    }
    return fail("unknown opcode " + hex_byte(op));
  }

  Status scan_prefix_fc() {
    uint32_t sub = 0;
    SP_TRY(r_.read_u32(sub));
    if (sub <= 7) {
      features_.saturating_float_to_int = true;
      return Status::ok();
    }
    if (sub > 17) return fail("unknown opcode 0xfc " + std::to_string(sub));
    features_.bulk_memory = true;
    if (sub >= 15) features_.reference_types = true;  // table.grow/size/fill
    switch (sub) {
      case 8:  // memory.init
        SP_TRY(read_data_index());
        return read_memory_index();
      case 9:  // data.drop
        return read_data_index();
      case 10:  // memory.copy
        SP_TRY(read_memory_index());
        return read_memory_index();
      case 11:  // memory.fill
        return read_memory_index();
      case 12:  // table.init
        SP_TRY(read_index(ctx_.n_elem_segments, "element segment"));
        return read_index(ctx_.n_tables, "table");
      case 13:  // elem.drop
        return read_index(ctx_.n_elem_segments, "element segment");
      case 14:  // table.copy
        SP_TRY(read_index(ctx_.n_tables, "table"));
        return read_index(ctx_.n_tables, "table");
      default:  // table.grow table.size table.fill
        return read_index(ctx_.n_tables, "table");
    }
  }

  Status scan_prefix_simd() {
    features_.simd = true;
    uint32_t sub = 0;
    SP_TRY(r_.read_u32(sub));
    if (kind_ == ExprKind::ExprKind_const && sub != 0x0c) {
      return fail("opcode 0xfd " + std::to_string(sub) + " is not allowed in a constant expression");
    }
    if (sub <= 0x0b || sub == 0x5c || sub == 0x5d) return read_memarg();  // loads, store
    if (sub == 0x0c || sub == 0x0d) return r_.skip(16);                   // v128.const, shuffle
    if (sub >= 0x15 && sub <= 0x22) return read_lane();                   // extract/replace lane
    if (sub >= 0x54 && sub <= 0x5b) {                                     // load/store lane
      SP_TRY(read_memarg());
      return read_lane();
    }
    if (sub <= 0x113 && !is_simd_gap(sub)) return Status::ok();
    return fail("unknown opcode 0xfd " + std::to_string(sub));
  }

  Status scan_prefix_atomic() {
    features_.threads = true;
    uint32_t sub = 0;
    SP_TRY(r_.read_u32(sub));
    if (sub == 0x03) {  // atomic.fence: one reserved zero byte
      uint8_t reserved = 0;
      SP_TRY(r_.read_u8(reserved));
      if (reserved != 0) return fail("atomic.fence reserved byte must be 0");
      return Status::ok();
    }
    if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) return read_memarg();
    return fail("unknown opcode 0xfe " + std::to_string(sub));
  }

  WasmReader& r_;
  const CodeContext& ctx_;
  ExprKind kind_;
  uint64_t n_locals_;
  const std::string& what_;
  FeatureSet& features_;
  uint64_t depth_ = 0;      // open blocks; the walk is iterative, so nesting costs no stack
  size_t op_offset_ = 0;    // where the current instruction starts, for messages
};

}  // namespace

Status scan_expression(WasmReader& reader, const CodeContext& ctx, ExprKind kind,
                       uint64_t n_locals, const std::string& what, FeatureSet& features) {
  ExprScanner scanner(reader, ctx, kind, n_locals, what, features);
  return scanner.scan();
}

}  // namespace samepage
