// sp_map_file through the real engine: a guest maps a 64 MiB file it opened
// under a preopen, reads it with no anonymous copy, and cannot write it.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "test_support.h"

namespace samepage {
namespace {

struct MappedFile {
  std::string dir;
  uint64_t sum = 0;
};

MappedFile write_file(uint32_t n_bytes) {
  MappedFile f;
  f.dir = test::make_temp_dir();
  std::vector<uint64_t> words(n_bytes / 8);
  std::mt19937_64 rng(42);
  for (uint64_t& w : words) w = rng();
  for (uint64_t w : words) f.sum = f.sum * 31 + w;
  FILE* out = std::fopen((f.dir + "/model.bin").c_str(), "wb");
  EXPECT_NE(out, nullptr);
  EXPECT_EQ(std::fwrite(words.data(), 8, words.size(), out), words.size());
  std::fclose(out);
  return f;
}

InstanceOptions options_for(const std::string& dir, std::vector<std::string> args) {
  InstanceOptions options = test::with_args(std::move(args));
  options.wasi.preopens.push_back({dir, "/models", false});
  return options;
}

TEST(MapFile, GuestMaps64MiBThroughAWasiFdWithNoAnonymousCopy) {
  const uint32_t n_bytes = 64u << 20;
  const MappedFile file = write_file(n_bytes);
  auto module = test::load_guest("map_file");
  ASSERT_TRUE(module);
  auto run = test::run_captured(module, options_for(file.dir, {"map_file", "/models/model.bin", std::to_string(n_bytes)}));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_EQ(run.outcome->kind, GuestOutcome::Kind::Kind_returned) << run.stdout_text;
  char want[32];
  std::snprintf(want, sizeof want, "sum=%016llx", static_cast<unsigned long long>(file.sum));
  EXPECT_NE(run.stdout_text.find(want), std::string::npos) << run.stdout_text;
  EXPECT_NE(run.stdout_text.find("refused: bad fd 1, stdin 1, unaligned 1, over a mapping 1"), std::string::npos)
      << run.stdout_text;
  EXPECT_NE(run.stdout_text.find("map_file ok"), std::string::npos) << run.stdout_text;
  // Reading 64 MiB of mapped file adds page cache, not anonymous memory.
  const size_t at = run.stdout_text.find("rss_anon_delta=");
  ASSERT_NE(at, std::string::npos) << run.stdout_text;
  const long long anon_delta = std::atoll(run.stdout_text.c_str() + at + std::strlen("rss_anon_delta="));
  EXPECT_LT(anon_delta, 4ll << 20) << run.stdout_text;
  std::system(("rm -rf " + file.dir).c_str());
}

TEST(MapFile, AGuestWriteToTheMappingTraps) {
  const MappedFile file = write_file(1u << 20);
  auto module = test::load_guest("map_file");
  ASSERT_TRUE(module);
  auto run = test::run_captured(module, options_for(file.dir, {"map_file", "/models/model.bin", "1048576", "write"}));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_TRUE(run.outcome->trapped()) << run.stdout_text;
  EXPECT_EQ(run.stdout_text.find("did not trap"), std::string::npos) << run.stdout_text;
  std::system(("rm -rf " + file.dir).c_str());
}

// A guest that can write the file it mapped truncates it: reads past the new
// end raise SIGBUS, in guest code or inside a host kernel (on pool threads
// too). Only that guest ends, with a named trap; the host goes on.
void expect_shrink_traps(const char* mode) {
  const MappedFile file = write_file(4u << 20);
  auto module = test::load_guest("map_file");
  ASSERT_TRUE(module);
  InstanceOptions options = test::with_args({"map_file", "/models/model.bin", std::to_string(4u << 20), mode});
  options.wasi.preopens.push_back({file.dir, "/models", true});
  auto run = test::run_captured(module, std::move(options));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_TRUE(run.outcome->trapped()) << run.stdout_text;
  EXPECT_NE(run.outcome->message.find("shrank under its mapping"), std::string::npos) << run.outcome->message;
  EXPECT_EQ(run.stdout_text.find("did not trap"), std::string::npos) << run.stdout_text;
  std::system(("rm -rf " + file.dir).c_str());
}

TEST(MapFile, AFileTruncatedUnderItsMappingTrapsTheGuestReadingIt) { expect_shrink_traps("shrink-guest"); }

TEST(MapFile, AFileTruncatedUnderItsMappingTrapsTheGuestWhoseHostOpReadsIt) {
  expect_shrink_traps("shrink-host");
  // The same process runs the next guest as before.
  expect_shrink_traps("shrink-guest");
}

TEST(MapFile, AFileOutsideThePreopensCannotBeOpenedToBeginWith) {
  const MappedFile file = write_file(4096);
  auto module = test::load_guest("map_file");
  ASSERT_TRUE(module);
  // No preopen: WASI refuses the open, so there is no fd to map.
  auto run = test::run_captured(module, test::with_args({"map_file", file.dir + "/model.bin", "4096"}));
  ASSERT_TRUE(run.outcome.is_ok()) << run.outcome.message();
  EXPECT_EQ(run.outcome->kind, GuestOutcome::Kind::Kind_exited) << run.stdout_text;
  EXPECT_EQ(run.outcome->exit_code, 1u);
  EXPECT_EQ(run.stdout_text.find("sum="), std::string::npos) << run.stdout_text;
  std::system(("rm -rf " + file.dir).c_str());
}

}  // namespace
}  // namespace samepage
