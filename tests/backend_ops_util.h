// Shared by the op tests over every backend: input generation, output
// decoding, NMSE and its bounds per dtype.
#pragma once

#include <cmath>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "api/tensor_table.h"
#include "backend_ops_cases.h"
#include "cpu_test_util.h"

namespace samepage::test {

// The largest NMSE = Σ(a − b)² / Σb² a backend may show against the CPU
// reference, by the least precise dtype a case reads or writes:
// - f32: only summation order, FMA contraction and exp/rsqrt approximations
//   differ; relative errors ~ √k·2⁻²⁴ give NMSE ~1e-12 even at k = 8192.
// - f16/bf16: a backend may compute in the 16-bit type (tensor cores round
//   activations to bf16: relative 2⁻⁹, NMSE ~1e-6).
// - q8_0/q4_0/q4_1: the CPU rounds activations to q8 blocks (NMSE ~1.5e-5 for
//   uniform x), a GPU may multiply by dequantized weights instead; ggml's bound.
// - i32 (argmax indices, token copies): exact.
// Conversions (copy, set_rows) round once to nearest even in every backend: exact.
// A row may state its own bound, with the reason next to it (rope at 10⁵).
// The CPU backend against itself (copy staging, replay, parameter
// substitution) changes no arithmetic: bit-identical, whatever the dtype.
inline constexpr double kMaxNmse[] = {
    /* f32 */ 1e-7, /* f16 */ 1e-5, /* bf16 */ 1e-5, /* q8_0 */ 5e-4, /* q4_0 */ 5e-4, /* q4_1 */ 5e-4, /* i32 */ 0};

// Looser dtypes rank higher; i32 inputs (tokens) carry no rounding.
inline int precision_rank(DType d) {
  if (d == DType_i32) return -1;
  return d == DType_f32 ? 0 : is_quant(d) ? 2 : 1;
}

inline double max_nmse(const OpCase& c) {
  if (c.max_nmse >= 0) return c.max_nmse;
  if (c.out.dtype == DType_i32 || c.op == GuestOp_copy || c.op == GuestOp_set_rows ||
      c.op == GuestOp_get_rows)
    return 0;
  DType loosest = c.out.dtype;
  for (const Operand& o : c.in)
    if (precision_rank(o.dtype) > precision_rank(loosest)) loosest = o.dtype;
  return kMaxNmse[loosest];
}

inline std::string shape_text(const Operand& o) {
  std::string s = std::string(dtype_name(o.dtype)) + "[";
  for (size_t i = 0; i < o.shape.size(); ++i) s += (i ? "," : "") + std::to_string(o.shape[i]);
  return s + "]";
}
inline std::string describe(const OpCase& c) {
  std::string s = std::string(guest_op_name(c.op)) + " " + shape_text(c.out) + " <-";
  for (const Operand& o : c.in) s += " " + shape_text(o);
  return s + " f={" + std::to_string(c.f[0]) + "," + std::to_string(c.f[1]) + "} i={" + std::to_string(c.i[0]) + "," +
         std::to_string(c.i[1]) + "}";
}

inline uint64_t n_elements(const Operand& o) {
  uint64_t n = 1;
  for (uint32_t d : o.shape) n *= d;
  return n;
}
inline uint64_t n_bytes(const Operand& o) {
  std::vector<int64_t> shape(o.shape.begin(), o.shape.end());
  return tensor_bytes(o.dtype, int(shape.size()), shape.data());
}

// The bytes of one input, drawn from seed.
inline std::vector<uint8_t> make_input(const Operand& o, uint32_t seed) {
  const uint64_t n = n_elements(o), row = o.shape.back();
  std::vector<uint8_t> bytes(n_bytes(o));
  if (o.dtype == DType_i32) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> dist(int32_t(o.lo), int32_t(o.hi) - 1);
    auto* v = reinterpret_cast<int32_t*>(bytes.data());
    for (uint64_t i = 0; i < n; ++i) v[i] = dist(rng);
    v[0] = int32_t(o.lo), v[n - 1] = int32_t(o.hi) - 1;
    return bytes;
  }
  if (o.dtype != DType_f32) {  // weights, caches: the reference quantizer's rounding of [-1, 1)
    EXPECT_EQ(o.fill, Fill_uniform);
    return cpu::test::random_weights(cpu::DType(o.dtype), int64_t(n / row), int64_t(row), seed, nullptr);
  }
  std::vector<float> v = cpu::test::random_floats(n, seed, o.lo, o.hi);
  if (o.fill == Fill_ties)
    for (float& x : v) x = std::floor(x);
  if (o.fill == Fill_masked)
    for (uint64_t i = 1; i < n; i += 3) v[i] = -INFINITY;
  if (o.fill == Fill_ties_nan) {
    for (uint64_t i = 0; i < n; ++i) v[i] = i % 7 == 3 ? NAN : std::floor(v[i]);
    for (uint64_t i = n - row; i < n; ++i) v[i] = NAN;
    if (n / row >= 3 && row >= 10) {
      v[5] = v[9] = INFINITY;
      for (uint64_t i = row; i < 2 * row; ++i) v[i] = i % 7 == 3 ? NAN : -INFINITY;
    }
  }
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}

inline std::vector<double> decode(DType dtype, const uint8_t* p, uint64_t n) {
  std::vector<double> out(n);
  if (dtype == DType_i32) {
    for (uint64_t i = 0; i < n; ++i) out[i] = reinterpret_cast<const int32_t*>(p)[i];
    return out;
  }
  std::vector<float> f(n);
  EXPECT_TRUE(cpu::dequantize_row(cpu::DType(dtype), p, f.data(), int64_t(n)).is_ok());
  for (uint64_t i = 0; i < n; ++i) out[i] = f[i];
  return out;
}

inline double nmse(const std::vector<double>& got, const std::vector<double>& want) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return norm > 0 ? err / norm : err;  // NaN anywhere (an unwritten output) gives NaN: fails every bound
}

// The backends of this build, each in both memory modes: what every op test runs on.
struct BackendMode {
  std::string backend;
  MemoryMode mode;
};
inline std::vector<BackendMode> every_backend_mode() {
  std::vector<BackendMode> out;
  for (const std::string& name : backend_names())
    for (MemoryMode mode : {MemoryMode::MemoryMode_shared, MemoryMode::MemoryMode_copy}) out.push_back({name, mode});
  return out;
}
inline void PrintTo(const BackendMode& b, std::ostream* os) { *os << b.backend << "/" << memory_mode_name(b.mode); }
// A backend of the registry by name, for FakeGuest.
inline std::unique_ptr<Backend> backend_named(const std::string& name) {
  auto backend = create_backend(name);
  EXPECT_TRUE(backend.is_ok()) << backend.message();
  return backend.is_ok() ? std::move(backend).value() : nullptr;
}
// Why a listed backend cannot run here (not in this build, no device), or
// "" when it can: its tests are then skipped, saying so, not failed.
inline std::string backend_unavailable(const std::string& name) {
  auto backend = create_backend(name);
  return backend.is_ok() ? "" : backend.message();
}
// The reference: the CPU backend, shared memory, eager.
inline constexpr const char* kReferenceBackend = "cpu";

}  // namespace samepage::test
