// FileView: a file host code maps to read (a snapshot being restored). A file
// truncated under it reads as zeros and says so; it never kills the process.
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "engine/guarded_call.h"
#include "memory/file_view.h"
#include "samepage/unique_fd.h"
#include "test_support.h"

namespace samepage {
namespace {

// A file of n_bytes of 0xab; its path.
std::string write_file(const std::string& dir, size_t n_bytes) {
  const std::string path = dir + "/view.bin";
  const std::vector<uint8_t> bytes(n_bytes, 0xab);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  EXPECT_GE(fd.get(), 0);
  EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  return path;
}

Result<FileView> map_path(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_GE(fd.get(), 0);
  const off_t n_bytes = ::lseek(fd.get(), 0, SEEK_END);
  return FileView::map(fd.get(), static_cast<uint64_t>(n_bytes), "test");  // the fd may close at once
}

TEST(FileView, MapsAWholeFileReadOnly) {
  const std::string path = write_file(test::make_temp_dir(), 10000);
  auto view = map_path(path);
  ASSERT_TRUE(view.is_ok()) << view.message();
  ASSERT_EQ(view->size(), 10000u);
  for (size_t i = 0; i < view->size(); ++i) ASSERT_EQ(view->data()[i], 0xab) << i;
  EXPECT_FALSE(view->shrank());
  // An empty file maps to no bytes.
  const std::string empty = test::make_temp_dir() + "/empty.bin";
  UniqueFd(::open(empty.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  auto none = map_path(empty);
  ASSERT_TRUE(none.is_ok()) << none.message();
  EXPECT_EQ(none->size(), 0u);
  EXPECT_FALSE(none->shrank());
}

TEST(FileView, AFileTruncatedUnderItReadsAsZerosAndSaysSo) {
  install_fault_handlers();
  const size_t page = host_page_bytes();
  const std::string path = write_file(test::make_temp_dir(), 16 * page);
  auto view = map_path(path);
  ASSERT_TRUE(view.is_ok()) << view.message();
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(2 * page)), 0);
  const volatile uint8_t* bytes = view->data();
  EXPECT_EQ(bytes[page], 0xab);  // still in the file
  EXPECT_FALSE(view->shrank());
  EXPECT_EQ(bytes[8 * page], 0);  // past the new end: SIGBUS, absorbed
  EXPECT_TRUE(view->shrank());
  EXPECT_EQ(bytes[3 * page], 0);  // below the replaced pages, past the end: again
  EXPECT_EQ(bytes[16 * page - 1], 0);
  EXPECT_EQ(bytes[0], 0xab);
}

TEST(FileView, SlotsComeBackAndTheTableHasALimit) {
  const std::string path = write_file(test::make_temp_dir(), 4096);
  // Views end and free their slots: many more than the table holds, one at a time.
  for (size_t i = 0; i < 2 * kMaxFileViews; ++i) ASSERT_TRUE(map_path(path).is_ok()) << i;
  std::vector<FileView> open;
  for (size_t i = 0; i < kMaxFileViews; ++i) {
    auto view = map_path(path);
    ASSERT_TRUE(view.is_ok()) << i << ": " << view.message();
    open.push_back(std::move(view).value());
  }
  auto over = map_path(path);
  ASSERT_FALSE(over.is_ok());
  EXPECT_NE(over.message().find("mapped to be read at once"), std::string::npos) << over.message();
  // A moved view keeps its slot and its bytes; the table frees with the last one.
  open.pop_back();
  auto again = map_path(path);
  ASSERT_TRUE(again.is_ok()) << again.message();
  EXPECT_EQ(again->data()[0], 0xab);
}

}  // namespace
}  // namespace samepage
