// The host's entry points for the "samepage" imports, declared from the one
// list in the guest ABI header (SP_IMPORTS): wasm2c calls Z_samepageZ_<name>
// with the GuestContext* first, every i32 as uint32_t and every f32 as float.
// A definition that disagrees with the list does not compile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "samepage/dtype.h"
#include "samepage_abi.h"

namespace samepage {

struct GuestContext;

// The wasm value a guest C parameter travels as: f32 for float, i64 for
// uint64_t, i32 for the rest (int32_t, uint32_t, wasm32 pointers).
template <typename T>
using wasm_value_t = std::conditional_t<std::is_same_v<T, float>, float,
                                        std::conditional_t<std::is_same_v<T, uint64_t>, uint64_t, uint32_t>>;

template <typename Signature>
struct HostEntry;
template <typename R, typename... Params>
struct HostEntry<R(Params...)> {
  static_assert(std::is_same_v<R, int32_t>, "every samepage import returns an int32 status");
  using type = uint32_t(GuestContext*, wasm_value_t<Params>...);
};

// The dtype table is numbered as the ABI's sp_dtype.
static_assert(int{DType_f32} == SP_F32 && int{DType_f16} == SP_F16 && int{DType_bf16} == SP_BF16 &&
              int{DType_q8_0} == SP_Q8_0 && int{DType_q4_0} == SP_Q4_0 && int{DType_q4_1} == SP_Q4_1 &&
              int{DType_i32} == SP_I32 && int{DType_count} == SP_I32 + 1);

// The ABI's struct layouts, as the guest (wasm32) sees them.
static_assert(sizeof(sp_tensor_info) == 48 && offsetof(sp_tensor_info, shape) == 16 &&
              offsetof(sp_tensor_info, n_bytes) == 32 && offsetof(sp_tensor_info, zero_copy) == 40 &&
              offsetof(sp_tensor_info, write_protected) == 44);
static_assert(sizeof(sp_stats) == 48 && offsetof(sp_stats, memory_bytes) == 24 &&
              offsetof(sp_stats, staged_bytes) == 32 && offsetof(sp_stats, copy_mode) == 40);

}  // namespace samepage

extern "C" {
#define SAMEPAGE_DECLARE_ENTRY(ret, name, c_name, params) samepage::HostEntry<ret params>::type Z_samepageZ_##name;
SP_IMPORTS(SAMEPAGE_DECLARE_ENTRY)
#undef SAMEPAGE_DECLARE_ENTRY
}
