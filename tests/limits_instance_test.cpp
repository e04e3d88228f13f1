// GuestLimits seen from real guests: table.grow in generated code and the
// process-wide live-instance cap. These run guest code, so they stay in the
// plain build (scripts/test.sh runs the in-process ones under ASan).
#include "test_support.h"

namespace samepage {
namespace {

std::shared_ptr<Module> table_module() {
  auto wasm = test::wat_to_wasm(R"((module
      (table 4 funcref)
      (memory (export "memory") 1)
      (func (export "grow") (param i32) (result i32)
        (table.grow 0 (ref.null func) (local.get 0)))
      (func (export "size") (result i32) (table.size 0))))");
  auto module = test::test_engine().load_bytes(wasm, "table_grow");
  EXPECT_TRUE(module.is_ok()) << module.message();
  return module.is_ok() ? module.value() : nullptr;
}

TEST(GuestLimitsInstance, TableGrowPastTheLimitReturnsMinusOne) {
  auto module = table_module();
  ASSERT_TRUE(module);
  InstanceOptions options;
  options.limits.table_elements = 100;
  auto instance = Instance::create(module, options);
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  auto grown = instance.value()->call("grow", {96});
  ASSERT_TRUE(grown.is_ok()) << grown.message();
  EXPECT_EQ(grown->result, 4u);
  auto refused = instance.value()->call("grow", {1});
  ASSERT_TRUE(refused.is_ok());
  EXPECT_EQ(static_cast<int32_t>(refused->result), -1);
  auto huge = instance.value()->call("grow", {0x80000000u});
  ASSERT_TRUE(huge.is_ok());
  EXPECT_EQ(static_cast<int32_t>(huge->result), -1);
  EXPECT_EQ(instance.value()->call("size")->result, 100u);
}

TEST(GuestLimitsInstance, TableAboveTheLimitFailsInstantiationNamingTheFlag) {
  auto module = table_module();
  ASSERT_TRUE(module);
  InstanceOptions options;
  options.limits.table_elements = 3;
  auto instance = Instance::create(module, options);
  ASSERT_FALSE(instance.is_ok());
  EXPECT_NE(instance.message().find("--max-table-elements"), std::string::npos) << instance.message();
}

TEST(GuestLimitsInstance, LiveInstancesAreCapped) {
  auto module = table_module();
  ASSERT_TRUE(module);
  InstanceOptions options;
  options.limits.live_instances = 2;
  auto a = Instance::create(module, options);
  auto b = Instance::create(module, options);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  auto c = Instance::create(module, options);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.message().find("live instances"), std::string::npos) << c.message();
  a.value().reset();  // one place frees up
  auto d = Instance::create(module, options);
  EXPECT_TRUE(d.is_ok()) << d.message();
}

}  // namespace
}  // namespace samepage
