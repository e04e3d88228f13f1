#include "dtype.h"

#include "quantize.h"

namespace synth {

const DtypeTraits& dtype_traits(Dtype t) {
  static const DtypeTraits table[kNumDtypes] = {
      {"f32", 0, 1, 4, 0, encode_f32},
      {"f16", 1, 1, 2, 1, encode_f16},
      {"bf16", 30, 1, 2, 32, encode_bf16},
      {"q8_0", 8, 32, 34, 7, quantize_q8_0},
      {"q4_0", 2, 32, 18, 2, quantize_q4_0},
      {"q4_1", 3, 32, 20, 3, quantize_q4_1},
  };
  return table[t];
}

bool parse_dtype(std::string_view name, Dtype* out) {
  for (uint32_t i = 0; i < kNumDtypes; ++i) {
    if (name == dtype_traits(static_cast<Dtype>(i)).name) {
      *out = static_cast<Dtype>(i);
      return true;
    }
  }
  return false;
}

}  // namespace synth
