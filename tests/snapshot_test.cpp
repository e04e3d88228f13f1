// Guest snapshots end to end: a reactor saved between calls continues
// identically in a new instance (and a new process, through the CLI); what
// the restoring run does not grant, or what the module cannot hold, is
// refused with a clear error and no instance.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "samepage/backend.h"
#include "snapshot/snapshot_format.h"
#include "test_support.h"

namespace samepage {
namespace {

using Bytes = std::vector<uint8_t>;

// A data directory with blob.bin: 8 KiB of floats (the guest maps the first 4 KiB).
std::string make_data_dir(uint32_t seed = 7) {
  const std::string dir = test::make_temp_dir();
  std::mt19937 rng(seed);
  std::vector<float> v(2048);
  for (float& x : v) x = std::uniform_real_distribution<float>(-1, 1)(rng);
  std::ofstream(dir + "/blob.bin", std::ios::binary).write(reinterpret_cast<const char*>(v.data()), v.size() * 4);
  return dir;
}

InstanceOptions options_for(const std::string& data_dir) {
  InstanceOptions o;
  o.wasi.args = {"snapshot_counter"};
  if (!data_dir.empty()) o.wasi.preopens.push_back({data_dir, "/data", false});
  return o;
}

int32_t call_i32(Instance& instance, const std::string& name, std::vector<uint64_t> args = {}) {
  auto r = instance.call(name, args);
  EXPECT_TRUE(r.is_ok()) << r.message();
  if (!r.is_ok()) return INT32_MIN;
  EXPECT_EQ(r->kind, GuestOutcome::Kind::Kind_returned) << r->message;
  return static_cast<int32_t>(r->result);
}

// A counter guest after setup and two steps, and its snapshot.
struct Saved {
  std::string data_dir;
  std::shared_ptr<Module> module;
  std::unique_ptr<Instance> instance;
  Bytes bytes;
};

Saved saved_counter() {
  Saved s;
  s.data_dir = make_data_dir();
  s.module = test::load_guest("snapshot_counter");
  if (!s.module) return s;
  auto instance = Instance::create(s.module, options_for(s.data_dir));
  EXPECT_TRUE(instance.is_ok()) << instance.message();
  if (!instance.is_ok()) return s;
  s.instance = std::move(instance).value();
  EXPECT_EQ(call_i32(*s.instance, "setup"), 0);
  call_i32(*s.instance, "step");
  call_i32(*s.instance, "step");
  auto bytes = s.instance->snapshot_bytes();
  EXPECT_TRUE(bytes.is_ok()) << bytes.message();
  if (bytes.is_ok()) s.bytes = std::move(bytes).value();
  return s;
}

std::string restore_error(const Saved& s, const Bytes& bytes, const InstanceOptions& options) {
  auto restored = Instance::restore_bytes(s.module, options, bytes.data(), bytes.size());
  return restored.is_ok() ? std::string() : restored.message();
}

// Parses, edits and re-writes a snapshot: a valid checksum over hostile contents.
template <typename Edit>
Bytes edited(const Bytes& bytes, Edit edit) {
  auto image = parse_snapshot(bytes.data(), bytes.size());
  EXPECT_TRUE(image.is_ok()) << image.message();
  if (!image.is_ok()) return {};
  edit(image.value());
  auto out = snapshot_to_bytes(image.value());
  return out.is_ok() ? out.value() : Bytes{};
}

TEST(SnapshotRestore, CounterGuestContinuesIdenticallyInANewInstance) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance && !s.bytes.empty());
  std::vector<int32_t> expected;
  for (int i = 0; i < 3; ++i) expected.push_back(call_i32(*s.instance, "step"));
  const int32_t probe = call_i32(*s.instance, "probe", {5});

  auto restored = Instance::restore_bytes(s.module, options_for(s.data_dir), s.bytes.data(), s.bytes.size());
  ASSERT_TRUE(restored.is_ok()) << restored.message();
  Instance& r = *restored.value();
  EXPECT_EQ(call_i32(r, "counter"), 2);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call_i32(r, "step"), expected[i]) << "step " << i;
  EXPECT_EQ(call_i32(r, "probe", {5}), probe);
  EXPECT_EQ(call_i32(r, "counter"), 5);
  // The recorded sequence came back recorded (its ops were in the file):
  // replays went on without the guest recording it again.
  EXPECT_EQ(call_i32(r, "rerecorded"), 0);
  EXPECT_EQ(call_i32(*s.instance, "rerecorded"), 0);
}

// A snapshot without the ops of a sequence (a version 1 file, or one a freed
// tensor broke) brings it back dropped: the first replay answers
// SP_ERR_STATE, the guest records it again, and the steps go on identically.
TEST(SnapshotRestore, SequenceWithoutOpsComesBackToBeRecordedAgain) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance && !s.bytes.empty());
  std::vector<int32_t> expected;
  for (int i = 0; i < 3; ++i) expected.push_back(call_i32(*s.instance, "step"));
  const Bytes bytes = edited(s.bytes, [](SnapshotImage& im) {
    ASSERT_EQ(im.recorded.size(), 1u);
    im.recorded.clear();
  });
  auto restored = Instance::restore_bytes(s.module, options_for(s.data_dir), bytes.data(), bytes.size());
  ASSERT_TRUE(restored.is_ok()) << restored.message();
  Instance& r = *restored.value();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call_i32(r, "step"), expected[i]) << "step " << i;
  EXPECT_EQ(call_i32(r, "rerecorded"), 1);
}

TEST(SnapshotRestore, SavedFileRestoresAndSkipsZeroPages) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  const std::string path = test::make_temp_dir() + "/counter.snap";
  ASSERT_TRUE(s.instance->save_snapshot(path).is_ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), s.bytes.size());
  // Guest memory is several pages; the file holds only the non-zero ones (and no mapped bytes).
  EXPECT_LT(static_cast<uint64_t>(st.st_size), s.instance->memory()->size_bytes() / 2);
  EXPECT_EQ(st.st_mode & 077, 0u);  // private to the user
  const int32_t next = call_i32(*s.instance, "step");
  auto restored = Instance::restore(s.module, options_for(s.data_dir), path);
  ASSERT_TRUE(restored.is_ok()) << restored.message();
  EXPECT_EQ(call_i32(*restored.value(), "step"), next);
  // The mapping is back, read-only and file-backed.
  ASSERT_EQ(restored.value()->memory()->file_mappings().size(), 1u);
  EXPECT_FALSE(restored.value()->memory()->is_writable(restored.value()->memory()->file_mappings()[0].guest_offset, 1));
  // A restored instance snapshots again, to the same bytes.
  auto again = restored.value()->snapshot_bytes();
  ASSERT_TRUE(again.is_ok()) << again.message();
  auto twice = Instance::restore_bytes(s.module, options_for(s.data_dir), again->data(), again->size());
  ASSERT_TRUE(twice.is_ok()) << twice.message();
  EXPECT_EQ(call_i32(*twice.value(), "counter"), 3);
}

TEST(SnapshotRestore, MappedFileComesThroughTheNewRunsPreopen) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  // Another host directory with the same bytes (another machine): accepted.
  const std::string moved = make_data_dir();
  auto restored = Instance::restore_bytes(s.module, options_for(moved), s.bytes.data(), s.bytes.size());
  EXPECT_TRUE(restored.is_ok()) << restored.message();
  // No preopen /data: refused, naming it.
  EXPECT_NE(restore_error(s, s.bytes, options_for("")).find("no preopen /data"), std::string::npos);
  // Different bytes in the mapped range: refused.
  const std::string changed = make_data_dir(8);
  EXPECT_NE(restore_error(s, s.bytes, options_for(changed)).find("changed since the snapshot"), std::string::npos);
  // Bytes past the mapped range may change.
  const std::string tail = make_data_dir();
  {
    std::fstream f(tail + "/blob.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(6000);
    f.put('x');
  }
  EXPECT_EQ(restore_error(s, s.bytes, options_for(tail)), "");
  // A path that would leave the preopen is refused by the sandbox, whatever the file says.
  const Bytes escape = edited(s.bytes, [](SnapshotImage& im) { im.mappings[0].path = "../../etc/passwd"; });
  EXPECT_NE(restore_error(s, escape, options_for(s.data_dir)).find("cannot open the mapped file"), std::string::npos);
}

// The recorded file is hashed through the mapping the guest then reads: a
// file that no longer holds the mapped range is refused as it is mapped, one
// whose mapped bytes changed by the hash taken over the mapped pages.
TEST(SnapshotRestore, MappedFileShorterOrChangedSinceTheSnapshotIsRefused) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  const std::string shorter = make_data_dir();
  ASSERT_EQ(::truncate((shorter + "/blob.bin").c_str(), 2048), 0);  // the guest maps 4 KiB
  const std::string e = restore_error(s, s.bytes, options_for(shorter));
  EXPECT_NE(e.find("is past the end of /data/blob.bin"), std::string::npos) << e;
  // One byte changed inside the mapped range.
  const std::string changed = make_data_dir();
  {
    std::fstream f(changed + "/blob.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4095);
    f.put('x');
  }
  const std::string e2 = restore_error(s, s.bytes, options_for(changed));
  EXPECT_NE(e2.find("changed since the snapshot"), std::string::npos) << e2;
}

// The snapshot file is mapped, not read: truncated and written back while
// restores run, it either restores whole (the bytes were all there) or is
// refused with a clear error. The process never dies of SIGBUS.
TEST(SnapshotRestore, SnapshotFileTruncatedWhileRestoredNeverCrashes) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance && !s.bytes.empty());
  const std::string path = test::make_temp_dir() + "/counter.snap";
  ASSERT_TRUE(s.instance->save_snapshot(path).is_ok());
  std::atomic<bool> stop{false};
  std::thread cutter([&] {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    for (uint32_t i = 0; !stop.load(); ++i) {
      // At whole pages: a cut inside a page would zero its tail in place, a
      // write like any other (the restore may then hold those zeros).
      const size_t cut = i % (s.bytes.size() / 4096 + 1) * 4096;
      if (::ftruncate(fd, static_cast<off_t>(cut)) != 0) break;
      if (::pwrite(fd, s.bytes.data(), s.bytes.size(), 0) != static_cast<ssize_t>(s.bytes.size())) break;
      std::this_thread::sleep_for(std::chrono::microseconds(i % 3 * 100));  // some restores find it whole
    }
    ::close(fd);
  });
  for (int i = 0; i < 300; ++i) {
    auto restored = Instance::restore(s.module, options_for(s.data_dir), path);
    if (restored.is_ok()) {
      EXPECT_EQ(call_i32(*restored.value(), "counter"), 2);
    } else {
      EXPECT_NE(restored.message().find("[snapshot::"), std::string::npos) << restored.message();
    }
  }
  stop = true;
  cutter.join();
}

TEST(SnapshotRestore, AnotherModuleIsRefused) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  auto other = test::load_guest("exports");
  ASSERT_TRUE(other);
  auto restored = Instance::restore_bytes(other, options_for(s.data_dir), s.bytes.data(), s.bytes.size());
  ASSERT_FALSE(restored.is_ok());
  EXPECT_NE(restored.message().find("another module"), std::string::npos) << restored.message();
}

TEST(SnapshotRestore, TamperedContentsWithAValidChecksumAreRefused) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  const InstanceOptions o = options_for(s.data_dir);
  struct Case {
    const char* expect;
    std::function<void(SnapshotImage&)> edit;
  };
  const Case cases[] = {
      {"names function", [](SnapshotImage& im) { im.tables.at(0).entries.back() = 1000000; }},
      {"another element type", [](SnapshotImage& im) { im.tables.at(0).elem_type = 'e'; std::fill(im.tables[0].entries.begin(), im.tables[0].entries.end(), kSnapshotNullFunc); }},
      {"tables", [](SnapshotImage& im) { im.tables.push_back(im.tables.at(0)); }},
      {"has type 'I'", [](SnapshotImage& im) { im.globals.at(0).type = 'I'; }},
      {"is not a mutable global", [](SnapshotImage& im) { im.globals.at(0).index = 1000; }},
      {"globals", [](SnapshotImage& im) { im.globals.clear(); }},
      {"outside the module's limits", [](SnapshotImage& im) { im.memory_pages = 0; im.chunks.clear(); im.mappings.clear(); im.api.tensors.clear(); im.api.n_slots = 0; im.api.free_handles.clear(); im.recorded.clear(); }},
      {"repeated or free", [](SnapshotImage& im) { im.api.free_handles.push_back(im.api.tensors.at(0).handle); im.api.tensors.erase(im.api.tensors.begin() + 1); }},
      {"views bytes outside", [](SnapshotImage& im) { im.memory_pages = 17; for (auto& t : im.api.tensors) if (t.is_view) t.guest_offset = 17 * 65536 - 64; }},
      {"misaligned", [](SnapshotImage& im) { for (auto& t : im.api.tensors) if (t.is_view) t.guest_offset += 1; }},
      {"host API", [](SnapshotImage& im) { im.api = SnapshotHostApi{}; im.recorded.clear(); }},
      // Recorded ops go through the guest's own checks as they are recorded again.
      {"sequence 1 op 0: not an op as the sp_* calls make it",
       [](SnapshotImage& im) { im.recorded.at(0).ops.at(0).f_bits[0] = 0x3f800000u; }},
      {"sequence 1 op 0: not an op as the sp_* calls make it",
       [](SnapshotImage& im) { im.recorded.at(0).ops.at(0).op = OpCode_scale; }},
      {"sequence 1 op 1: ", [](SnapshotImage& im) { im.recorded.at(0).ops.at(1).handles[0] = 2; }},  // into the const view
      {"sequence 1 op 0: ", [](SnapshotImage& im) { im.recorded.at(0).ops.at(0).op = OpCode_matmul; }},  // shapes
  };
  for (const Case& c : cases) {
    const Bytes bad = edited(s.bytes, c.edit);
    const std::string e = restore_error(s, bad, o);
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.expect << ": " << e;
  }
  // Over this run's limits: the table's elements.
  InstanceOptions small = o;
  small.limits.table_elements = 1;
  EXPECT_NE(restore_error(s, s.bytes, small).find("--max-table-elements"), std::string::npos);
}

TEST(SnapshotRestore, CorruptOrTruncatedFilesAreRefused) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  const InstanceOptions o = options_for(s.data_dir);
  Bytes flipped = s.bytes;
  flipped[flipped.size() / 3] ^= 0x10;
  EXPECT_NE(restore_error(s, flipped, o).find("checksum mismatch"), std::string::npos);
  const Bytes cut(s.bytes.begin(), s.bytes.begin() + static_cast<long>(s.bytes.size() - 100));
  EXPECT_NE(restore_error(s, cut, o).find("truncated"), std::string::npos);
  auto missing = Instance::restore(s.module, o, "/nonexistent/x.snap");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("cannot open"), std::string::npos);
}

TEST(SnapshotRestore, FileLargerThanTheGuestCouldHoldIsNotRead) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  InstanceOptions o = options_for(s.data_dir);
  o.limits.host_bytes = uint64_t{1} << 20;
  // Sparse: one byte past what a snapshot of this module can hold (its
  // memory at the module's maximum, the host-memory limit, the format's own).
  const std::string path = test::make_temp_dir() + "/huge.snap";
  const uint64_t limit = kGuestAddressSpaceBytes + o.limits.host_bytes + (uint64_t{64} << 20);
  {
    std::ofstream(path, std::ios::binary).write("SPSNAP", 6);
  }
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(limit + 1)), 0);
  auto restored = Instance::restore(s.module, o, path);
  ASSERT_FALSE(restored.is_ok());
  EXPECT_NE(restored.message().find("more than a guest can hold"), std::string::npos) << restored.message();
  ::unlink(path.c_str());
}

TEST(SnapshotRestore, FdsBeyondThePreopensComeBackClosed) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  const int32_t fd = call_i32(*s.instance, "open_keep");
  ASSERT_GT(fd, 3);
  EXPECT_EQ(call_i32(*s.instance, "read_fd", {static_cast<uint64_t>(fd)}), 1);
  auto bytes = s.instance->snapshot_bytes();
  ASSERT_TRUE(bytes.is_ok()) << bytes.message();
  auto restored = Instance::restore_bytes(s.module, options_for(s.data_dir), bytes->data(), bytes->size());
  ASSERT_TRUE(restored.is_ok()) << restored.message();
  constexpr int32_t kWasiEbadf = 8;  // wasi-libc's errno value
  EXPECT_EQ(call_i32(*restored.value(), "read_fd", {static_cast<uint64_t>(fd)}), -kWasiEbadf);
}

TEST(SnapshotRestore, OpenRecordingIsRefused) {
  Saved s = saved_counter();
  ASSERT_TRUE(s.instance);
  EXPECT_EQ(call_i32(*s.instance, "record_open"), 0);
  auto refused = s.instance->snapshot_bytes();
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("being recorded"), std::string::npos) << refused.message();
  EXPECT_GT(call_i32(*s.instance, "record_close"), 0);
  EXPECT_TRUE(s.instance->snapshot_bytes().is_ok());
}

TEST(SnapshotRestore, EndedGuestIsNotSnapshotted) {
  auto module = test::load_guest("exports");
  ASSERT_TRUE(module);
  auto instance = Instance::create(module, InstanceOptions{});
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  auto boom = instance.value()->call("boom");
  ASSERT_TRUE(boom.is_ok());
  auto bytes = instance.value()->snapshot_bytes();
  ASSERT_FALSE(bytes.is_ok());
  EXPECT_NE(bytes.message().find("ended"), std::string::npos) << bytes.message();
}

// Globals of every type and a funcref table changed at run time (table.set,
// a funcref global): their values and entries come back as function indices.
// Exported ones too (wasm2c names those after the export).
TEST(SnapshotRestore, GlobalsAndTablesOfEveryTypeRoundTrip) {
  auto wasm = test::wat_to_wasm(R"((module
      (type $r (func (result i32)))
      (memory (export "memory") 1)
      (global $a (export "ga") (mut i32) (i32.const 1))
      (global $b (mut i64) (i64.const 2))
      (global $c (mut f32) (f32.const 3))
      (global $d (mut f64) (f64.const 4))
      (global $k i32 (i32.const 5))
      (global $f (mut funcref) (ref.null func))
      (table $t (export "tab") 2 10 funcref)
      (elem (i32.const 0) $one)
      (elem declare func $two $three)
      (func $one (result i32) (i32.const 1))
      (func $two (result i32) (i32.const 2))
      (func $three (result i32) (i32.const 3))
      (func (export "set") (param i32)
        (global.set $a (local.get 0))
        (global.set $b (i64.mul (i64.extend_i32_u (local.get 0)) (i64.const 0x100000000)))
        (global.set $c (f32.convert_i32_s (local.get 0)))
        (global.set $d (f64.convert_i32_s (local.get 0)))
        (global.set $f (ref.func $three))
        (table.set $t (i32.const 1) (ref.func $two))
        (drop (table.grow $t (ref.func $three) (i32.const 3))))
      (func (export "sum") (result i64)
        (i64.add
          (i64.add (i64.extend_i32_u (global.get $a)) (global.get $b))
          (i64.add (i64.trunc_f32_s (global.get $c)) (i64.trunc_f64_s (global.get $d)))))
      (func (export "size") (result i32) (table.size $t))
      (func (export "call") (param i32) (result i32) (call_indirect $t (type $r) (local.get 0)))
      (func (export "callg") (result i32)
        (table.set $t (i32.const 0) (global.get $f))
        (call_indirect $t (type $r) (i32.const 0)))))");
  auto module = test::test_engine().load_bytes(wasm, "snapshot_globals");
  ASSERT_TRUE(module.is_ok()) << module.message();
  auto instance = Instance::create(module.value(), InstanceOptions{});
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  Instance& a = *instance.value();
  ASSERT_TRUE(a.call("set", {9}).is_ok());
  auto bytes = a.snapshot_bytes();
  ASSERT_TRUE(bytes.is_ok()) << bytes.message();
  auto image = parse_snapshot(bytes->data(), bytes->size());
  ASSERT_TRUE(image.is_ok());
  EXPECT_EQ(image->globals.size(), 5u);  // the immutable one is not saved
  auto restored = Instance::restore_bytes(module.value(), InstanceOptions{}, bytes->data(), bytes->size());
  ASSERT_TRUE(restored.is_ok()) << restored.message();
  Instance& b = *restored.value();
  EXPECT_EQ(b.call("sum")->result, a.call("sum")->result);
  EXPECT_EQ(b.call("sum")->result, 9u + (9ull << 32) + 9 + 9);
  EXPECT_EQ(b.call("size")->result, 5u);
  EXPECT_EQ(b.call("call", {0})->result, 1u);
  EXPECT_EQ(b.call("call", {1})->result, 2u);
  EXPECT_EQ(b.call("call", {4})->result, 3u);
  EXPECT_EQ(b.call("callg")->result, 3u);  // the funcref global
  // A global whose type the module does not have there is refused.
  const Bytes bad = edited(bytes.value(), [](SnapshotImage& im) { im.globals[0].type = 'F'; });
  auto refused = Instance::restore_bytes(module.value(), InstanceOptions{}, bad.data(), bad.size());
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("global 0 has type 'F'"), std::string::npos) << refused.message();
  // A table past the module's maximum of 10 is refused.
  const Bytes big = edited(bytes.value(), [](SnapshotImage& im) { im.tables[0].entries.resize(11, kSnapshotNullFunc); });
  auto too_big = Instance::restore_bytes(module.value(), InstanceOptions{}, big.data(), big.size());
  ASSERT_FALSE(too_big.is_ok());
  EXPECT_NE(too_big.message().find("outside the module's limits"), std::string::npos) << too_big.message();
}

// A backend with memory of its own (a GPU) gets an error from the default
// tensor copies, never a host read of a device address, until it overrides them.
TEST(SnapshotRestore, DefaultTensorCopiesRefuseDeviceMemory) {
  struct Fake : Backend {
    BackendCaps c;
    Fake(bool device) { c.name = "fake"; c.device_memory = device; }
    const BackendCaps& caps() const override { return c; }
    Status use_host_memory(void*, uint64_t) override { return Status::ok(); }
    Status execute(const OpArgs&) override { return Status::ok(); }
    Status sync() override { return Status::ok(); }
  };
  float host[4] = {1, 2, 3, 4}, out[4] = {};
  TensorArg t;
  t.data = host;
  t.n_bytes = sizeof host;
  Fake device(true), cpu_like(false);
  Status refused = device.tensor_read(t, out);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("device memory"), std::string::npos) << refused.message();
  EXPECT_FALSE(device.tensor_write(t, out).is_ok());
  ASSERT_TRUE(cpu_like.tensor_read(t, out).is_ok());
  EXPECT_EQ(out[3], 4.0f);
}

// The counter guest (a runtime tensor and its reshaped alias, a const view
// of a mapped file, a recorded sequence) saved on one backend and restored
// on another: the runtime tensor's bytes leave device memory and re-enter
// it (Backend::tensor_read/tensor_write), and every later step's checksum
// equals the saving instance's own continuation (f32 adds: exact on both).
// Pairs with CUDA skip, saying why, where there is no GPU.
struct BackendPair {
  const char* save;
  const char* restore;
};
class SnapshotAcrossBackends : public ::testing::TestWithParam<BackendPair> {};

TEST_P(SnapshotAcrossBackends, CounterGuestContinuesIdentically) {
  const BackendPair pair = GetParam();
  for (const char* name : {pair.save, pair.restore})
    if (auto b = create_backend(name); !b.is_ok()) GTEST_SKIP() << name << ": " << b.message();
  const std::string data = make_data_dir();
  auto module = test::load_guest("snapshot_counter");
  ASSERT_TRUE(module);
  InstanceOptions saving = options_for(data), restoring = options_for(data);
  saving.backend = pair.save;
  restoring.backend = pair.restore;
  auto instance = Instance::create(module, saving);
  ASSERT_TRUE(instance.is_ok()) << instance.message();
  Instance& a = *instance.value();
  ASSERT_EQ(call_i32(a, "setup"), 0);
  for (int i = 0; i < 3; ++i) call_i32(a, "step");
  auto bytes = a.snapshot_bytes();
  ASSERT_TRUE(bytes.is_ok()) << bytes.message();
  std::vector<int32_t> expected;
  for (int i = 0; i < 4; ++i) expected.push_back(call_i32(a, "step"));

  auto restored = Instance::restore_bytes(module, restoring, bytes.value().data(), bytes.value().size());
  ASSERT_TRUE(restored.is_ok()) << restored.message();
  Instance& b = *restored.value();
  EXPECT_EQ(call_i32(b, "counter"), 3);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(call_i32(b, "step"), expected[i]) << pair.save << " -> " << pair.restore << ", step " << i;
  EXPECT_EQ(call_i32(b, "rerecorded"), 0);  // recorded again by the restore, for the restoring backend
}

INSTANTIATE_TEST_SUITE_P(Pairs, SnapshotAcrossBackends,
                         ::testing::Values(BackendPair{"cpu", "cpu"}, BackendPair{"cpu", "cuda"},
                                           BackendPair{"cuda", "cpu"}, BackendPair{"cuda", "cuda"}),
                         [](const ::testing::TestParamInfo<BackendPair>& info) {
                           return std::string(info.param.save) + "_to_" + info.param.restore;
                         });

// Two processes: `run --invoke ... --save-snapshot`, then `run --restore`.
TEST(SnapshotCli, SnapshotInOneProcessContinuesInAnother) {
  const std::string data = make_data_dir();
  const std::string dir = test::make_temp_dir();
  const std::string bin = test::samepage_binary(), guest = test::guest_path("snapshot_counter");
  auto run = [&](const std::string& flags, const std::string& out) {
    const std::string cmd = bin + " run --dir " + data + "::/data " + flags + " " + guest + " > " + out + " 2>&1";
    return std::system(cmd.c_str());
  };
  ASSERT_EQ(run("--invoke setup --invoke step --invoke step --invoke step --invoke step --invoke probe=3", dir + "/whole"), 0)
      << test::read_text(dir + "/whole");
  ASSERT_EQ(run("--invoke setup --invoke step --invoke step --save-snapshot " + dir + "/s.snap", dir + "/first"), 0)
      << test::read_text(dir + "/first");
  ASSERT_EQ(run("--restore " + dir + "/s.snap --invoke step --invoke step --invoke probe=3", dir + "/second"), 0)
      << test::read_text(dir + "/second");
  EXPECT_EQ(test::read_text(dir + "/first") + test::read_text(dir + "/second"), test::read_text(dir + "/whole"));
  // A snapshot of this guest given to another module: exit 1 and a clear line.
  const std::string other = test::guest_path("exports");
  const std::string cmd = bin + " run --restore " + dir + "/s.snap --invoke bump " + other + " > " + dir + "/wrong 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 1);
  EXPECT_NE(test::read_text(dir + "/wrong").find("another module"), std::string::npos) << test::read_text(dir + "/wrong");
  // --save-snapshot without --invoke is a usage error.
  EXPECT_EQ(WEXITSTATUS(run("--save-snapshot " + dir + "/x.snap", dir + "/usage")), 2);
}

}  // namespace
}  // namespace samepage
