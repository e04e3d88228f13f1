// WASI directory operations: readdir with cookies, mkdir, rmdir, unlink,
// rename, symlink, readlink, link.
#include <map>
#include <set>

#include "wasi_fixture.h"

namespace samepage::test {
namespace {

class WasiDirs : public WasiFixture {
 protected:
  struct Dirent {
    uint64_t next;
    uint64_t ino;
    uint8_t type;
    std::string name;
  };
  // Parses the complete entries of a readdir buffer.
  std::vector<Dirent> parse(uint32_t buf, uint32_t used) {
    std::vector<Dirent> out;
    uint32_t off = 0;
    while (off + 24 <= used) {
      Dirent d;
      d.next = load<uint64_t>(buf + off);
      d.ino = load<uint64_t>(buf + off + 8);
      const uint32_t namlen = load<uint32_t>(buf + off + 16);
      d.type = at(buf + off)[20];
      if (off + 24 + namlen > used) break;  // cut short
      d.name.assign(reinterpret_cast<char*>(at(buf + off + 24)), namlen);
      out.push_back(d);
      off += 24 + namlen;
    }
    return out;
  }
  uint32_t readdir(uint32_t fd, uint32_t buf_len, uint64_t cookie, std::vector<Dirent>* out,
                   uint32_t* used_out = nullptr) {
    const uint32_t buf = alloc(buf_len), used = alloc(4);
    const uint32_t e = Z_wasi_snapshot_preview1Z_fd_readdir(&ctx_, fd, buf, buf_len, cookie, used);
    if (e == 0) *out = parse(buf, load<uint32_t>(used));
    if (used_out != nullptr) *used_out = load<uint32_t>(used);
    return e;
  }
};

TEST_F(WasiDirs, ReaddirListsEntriesWithTypesAndCookies) {
  write_host_file(sandbox_ + "/file.txt", "x");
  ASSERT_EQ(mkdir("sub"), 0u);
  ASSERT_EQ(symlink("file.txt", "link"), 0u);
  std::vector<Dirent> entries;
  ASSERT_EQ(readdir(kSandboxFd, 4096, 0, &entries), 0u);
  std::map<std::string, Dirent> by_name;
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].next, i + 1) << "d_next is the cookie of the following entry";
    by_name[entries[i].name] = entries[i];
  }
  ASSERT_EQ(entries.size(), 5u);  // . .. file.txt sub link
  EXPECT_EQ(by_name.at(".").type, w::kFiletypeDirectory);
  EXPECT_EQ(by_name.at("..").type, w::kFiletypeDirectory);
  EXPECT_EQ(by_name.at("file.txt").type, w::kFiletypeRegularFile);
  EXPECT_EQ(by_name.at("sub").type, w::kFiletypeDirectory);
  EXPECT_EQ(by_name.at("link").type, w::kFiletypeSymbolicLink);
  struct stat st {};
  ASSERT_EQ(::stat((sandbox_ + "/file.txt").c_str(), &st), 0);
  EXPECT_EQ(by_name.at("file.txt").ino, st.st_ino);

  // Resuming from any d_next yields exactly the remaining entries.
  std::vector<Dirent> rest;
  ASSERT_EQ(readdir(kSandboxFd, 4096, entries[2].next, &rest), 0u);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].name, entries[3].name);
  EXPECT_EQ(rest[1].name, entries[4].name);
  ASSERT_EQ(readdir(kSandboxFd, 4096, 5, &rest), 0u);
  EXPECT_TRUE(rest.empty());
}

TEST_F(WasiDirs, ReaddirWithSmallBufferResumes) {
  std::set<std::string> created;
  for (int i = 0; i < 40; ++i) {
    const std::string name = "entry_with_a_long_name_" + std::to_string(i);
    write_host_file(sandbox_ + "/" + name, "");
    created.insert(name);
  }
  // A 100-byte buffer holds two entries and a cut one; bufused == buf_len
  // says "more"; the guest continues from the last complete d_next.
  std::set<std::string> seen;
  uint64_t cookie = 0;
  for (int calls = 0; calls < 100; ++calls) {
    std::vector<Dirent> part;
    uint32_t used = 0;
    ASSERT_EQ(readdir(kSandboxFd, 100, cookie, &part, &used), 0u);
    for (const Dirent& d : part) EXPECT_TRUE(seen.insert(d.name).second) << d.name;
    if (used < 100) break;
    ASSERT_FALSE(part.empty());
    cookie = part.back().next;
  }
  seen.erase(".");
  seen.erase("..");
  EXPECT_EQ(seen, created);
}

TEST_F(WasiDirs, ReaddirOfOpenedSubdirAndOfAFile) {
  ASSERT_EQ(mkdir("sub"), 0u);
  write_host_file(sandbox_ + "/sub/inner", "");
  uint32_t fd = 0;
  ASSERT_EQ(open(kSandboxFd, "sub", w::kOflagDirectory, kRead, 0, &fd), 0u);
  std::vector<Dirent> entries;
  ASSERT_EQ(readdir(fd, 4096, 0, &entries), 0u);
  std::set<std::string> names;
  for (const Dirent& d : entries) names.insert(d.name);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "inner"}));
  uint32_t file = 0;
  ASSERT_EQ(open(fd, "inner", 0, kRead, 0, &file), 0u);
  EXPECT_EQ(readdir(file, 4096, 0, &entries), w::kErrnoNotdir);
}

TEST_F(WasiDirs, MkdirRmdirUnlink) {
  ASSERT_EQ(mkdir("a"), 0u);
  ASSERT_EQ(mkdir("a/b/"), 0u);  // a trailing slash is fine for mkdir
  EXPECT_EQ(mkdir("a"), w::kErrnoExist);
  EXPECT_EQ(mkdir("missing/x"), w::kErrnoNoent);
  EXPECT_EQ(rmdir("a"), w::kErrnoNotempty);
  write_host_file(sandbox_ + "/a/f", "");
  EXPECT_EQ(rmdir("a/f"), w::kErrnoNotdir);
  EXPECT_EQ(unlink("a/b"), w::kErrnoIsdir);
  EXPECT_EQ(unlink("a/f/"), w::kErrnoNotdir);
  ASSERT_EQ(unlink("a/f"), 0u);
  EXPECT_FALSE(host_exists(sandbox_ + "/a/f"));
  ASSERT_EQ(rmdir("a/b"), 0u);
  ASSERT_EQ(rmdir("a/"), 0u);
  EXPECT_FALSE(host_exists(sandbox_ + "/a"));
  EXPECT_EQ(rmdir("."), w::kErrnoInval);
  EXPECT_EQ(unlink(""), w::kErrnoNoent);
}

TEST_F(WasiDirs, RenameFilesAndDirectories) {
  write_host_file(sandbox_ + "/from", "payload");
  ASSERT_EQ(rename("from", "to"), 0u);
  EXPECT_FALSE(host_exists(sandbox_ + "/from"));
  EXPECT_EQ(read_host_file(sandbox_ + "/to"), "payload");
  ASSERT_EQ(mkdir("d1"), 0u);
  ASSERT_EQ(rename("d1", "d2"), 0u);
  ASSERT_EQ(rename("to", "d2/inside"), 0u);
  EXPECT_EQ(read_host_file(sandbox_ + "/d2/inside"), "payload");
  EXPECT_EQ(rename("d2/inside/", "x"), w::kErrnoNotdir);
  EXPECT_EQ(rename("nope", "x"), w::kErrnoNoent);
}

TEST_F(WasiDirs, SymlinkReadlinkAndNofollowStat) {
  write_host_file(sandbox_ + "/target", "via link");
  ASSERT_EQ(symlink("target", "ln"), 0u);
  const uint32_t buf = alloc(64), used = alloc(4);
  const uint32_t p = put("ln");
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_path_readlink(&ctx_, kSandboxFd, p, 2, buf, 64, used), 0u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(at(buf)), load<uint32_t>(used)), "target");
  // A short buffer gets the first bytes, like readlink(2).
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_path_readlink(&ctx_, kSandboxFd, p, 2, buf, 3, used), 0u);
  EXPECT_EQ(load<uint32_t>(used), 3u);
  const uint32_t t = put("target");
  EXPECT_EQ(Z_wasi_snapshot_preview1Z_path_readlink(&ctx_, kSandboxFd, t, 6, buf, 64, used),
            w::kErrnoInval);

  uint32_t fs = 0;
  ASSERT_EQ(stat("ln", 0, &fs), 0u);
  EXPECT_EQ(at(fs)[16], w::kFiletypeSymbolicLink);
  ASSERT_EQ(stat("ln", w::kLookupSymlinkFollow, &fs), 0u);
  EXPECT_EQ(at(fs)[16], w::kFiletypeRegularFile);
  EXPECT_EQ(load<uint64_t>(fs + 32), 8u);

  uint32_t fd = 0;
  ASSERT_EQ(open(kSandboxFd, "ln", 0, kRead, 0, &fd), 0u);
  std::string data;
  ASSERT_EQ(read(fd, 64, &data), 0u);
  EXPECT_EQ(data, "via link");
  // Without SYMLINK_FOLLOW the link itself is not opened as a file.
  EXPECT_EQ(open(kSandboxFd, "ln", 0, kRead, 0, &fd, 0), w::kErrnoLoop);
  EXPECT_EQ(symlink("target", "ln"), w::kErrnoExist);
  ASSERT_EQ(unlink("ln"), 0u);
  EXPECT_TRUE(host_exists(sandbox_ + "/target"));
}

TEST_F(WasiDirs, HardLink) {
  write_host_file(sandbox_ + "/orig", "same inode");
  ASSERT_EQ(mkdir("d"), 0u);
  const uint32_t a = put("orig"), b = put("d/copy");
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_path_link(&ctx_, kSandboxFd, 0, a, 4, kSandboxFd, b, 6), 0u);
  struct stat s1 {}, s2 {};
  ASSERT_EQ(::stat((sandbox_ + "/orig").c_str(), &s1), 0);
  ASSERT_EQ(::stat((sandbox_ + "/d/copy").c_str(), &s2), 0);
  EXPECT_EQ(s1.st_ino, s2.st_ino);
  EXPECT_EQ(s1.st_nlink, 2u);
  // Following a symlink source links the file it names.
  ASSERT_EQ(symlink("orig", "sl"), 0u);
  const uint32_t c = put("sl"), d = put("d/through_link");
  ASSERT_EQ(Z_wasi_snapshot_preview1Z_path_link(&ctx_, kSandboxFd, w::kLookupSymlinkFollow, c, 2,
                                                kSandboxFd, d, 14),
            0u);
  ASSERT_EQ(::lstat((sandbox_ + "/d/through_link").c_str(), &s2), 0);
  EXPECT_EQ(s1.st_ino, s2.st_ino);
}

}  // namespace
}  // namespace samepage::test
