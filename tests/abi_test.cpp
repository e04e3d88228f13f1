// One source of truth: the dtype table and the guest ABI header are what the
// host API, the backends and the import check use.
#include <gtest/gtest.h>

#include "api/host_api_entries.h"
#include "api/host_api_imports.h"
#include "samepage/dtype.h"

namespace samepage {
namespace {

TEST(HostApiAbi, ImportListAndTypesComeFromTheAbiHeader) {
  std::vector<std::string> names;
#define NAME_OF(ret, name, c_name, params) names.push_back(#name);
  SP_IMPORTS(NAME_OF)
#undef NAME_OF
  const std::vector<HostImport>& imports = samepage_host_imports();
  ASSERT_EQ(imports.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(imports[i].module, "samepage");
    EXPECT_EQ(imports[i].field, names[i]);
    ASSERT_EQ(imports[i].type.results.size(), 1u);
    EXPECT_EQ(imports[i].type.results[0], ValType::ValType_i32);
  }
  // rmsnorm (out, x, w, eps): three handles and an f32.
  auto rmsnorm = std::find_if(imports.begin(), imports.end(), [](const HostImport& h) { return h.field == "rmsnorm"; });
  ASSERT_NE(rmsnorm, imports.end());
  const std::vector<ValType> want = {ValType::ValType_i32, ValType::ValType_i32, ValType::ValType_i32,
                                     ValType::ValType_f32};
  EXPECT_EQ(rmsnorm->type.params, want);
}

TEST(HostApiAbi, DTypeNumbersAreTheGuestAbis) {
  // src/api/host_api_entries.h static_asserts the numbering; the names follow the table.
  EXPECT_STREQ(dtype_name(DType_q4_1), "q4_1");
  EXPECT_STREQ(dtype_name(static_cast<DType>(99)), "?");
}

TEST(HostApiAbi, TensorBytesFollowTheTable) {
  const int64_t row32[2] = {3, 32}, row33[2] = {3, 33}, huge[2] = {int64_t{1} << 31, int64_t{1} << 31};
  EXPECT_EQ(tensor_bytes(DType_f32, 2, row32), 3u * 32 * 4);
  EXPECT_EQ(tensor_bytes(DType_bf16, 2, row33), 3u * 33 * 2);
  EXPECT_EQ(tensor_bytes(DType_q8_0, 2, row32), 3u * 34);
  EXPECT_EQ(tensor_bytes(DType_q4_1, 2, row32), 3u * 20);
  EXPECT_EQ(tensor_bytes(DType_q4_0, 2, row33), 0u);  // not whole blocks
  EXPECT_EQ(tensor_bytes(DType_f32, 2, huge), 0u);    // past 2^40 elements
  EXPECT_EQ(dtype_row_bytes(DType_q4_0, 64), 36u);
  EXPECT_EQ(dtype_alignment(DType_q8_0), 2u);
}

}  // namespace
}  // namespace samepage
