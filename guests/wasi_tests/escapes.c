// The WASI sandbox seen from inside: with only the sandbox preopened
// (argv[1], default "/sandbox"), no path reaches outside it, whether by
// "..", absolute paths, or symlinks the guest plants, and no symlink the
// guest creates points out of it. Every attempt must fail; the guest cannot
// tell ENOENT from refusal for paths outside, so only failure is checked,
// and errno where the answer is fixed.
// Prints "PASS escapes" and returns 0 only when every check held.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

// Neither reading, nor creating, nor stat nor opendir reaches `path`.
static void expect_unreachable(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    printf("FAIL escaped: open(%s) for reading succeeded\n", path);
    failures++;
    close(fd);
  }
  fd = open(path, O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) {
    printf("FAIL escaped: open(%s) for writing succeeded\n", path);
    failures++;
    close(fd);
  }
  struct stat st;
  if (stat(path, &st) == 0) {
    printf("FAIL escaped: stat(%s) succeeded\n", path);
    failures++;
  }
  DIR* d = opendir(path);
  if (d != NULL) {
    printf("FAIL escaped: opendir(%s) succeeded\n", path);
    failures++;
    closedir(d);
  }
}

int main(int argc, char** argv) {
  const char* root = argc > 1 ? argv[1] : "/sandbox";
  snprintf(dir, sizeof(dir), "%s/escapes_test", root);
  CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST);
  CHECK(mkdir(at("a"), 0755) == 0);

  char path[512];
  // "..": out of the preopen, directly and after going down first.
  snprintf(path, sizeof(path), "%s/..", root);
  expect_unreachable(path);
  snprintf(path, sizeof(path), "%s/../etc/passwd", root);
  expect_unreachable(path);
  expect_unreachable(at("../../etc/passwd"));
  expect_unreachable(at("a/../../../etc/passwd"));
  expect_unreachable(at("a/../../../../../../../../etc/hostname"));
  // Absolute paths outside every preopen.
  expect_unreachable("/etc/passwd");
  expect_unreachable("/");
  expect_unreachable("/proc/self/environ");

  // Absolute symlink targets are refused outright, and so are relative ones
  // that climb above the preopen from where the link would live: a host tool
  // following them later would leave the sandbox.
  CHECK(symlink("/etc", at("abs")) == -1);
  CHECK(symlink("/etc/passwd", at("abs")) == -1);
  CHECK(symlink("../../..", at("up")) == -1 && errno == ENOTCAPABLE);
  CHECK(symlink("../../../etc/passwd", at("passwd")) == -1 && errno == ENOTCAPABLE);
  CHECK(symlink("../../../samepage_escape_created", at("dangling")) == -1);
  CHECK(symlink("a/../../../etc", at("via_a")) == -1);
  CHECK(symlink("../../../..", at("a/up")) == -1);
  struct stat st;
  CHECK(lstat(at("up"), &st) == -1 && errno == ENOENT);
  expect_unreachable(at("up/etc/passwd"));
  expect_unreachable(at("a/../up/etc/hostname"));
  CHECK(mkdir(at("up/samepage_escape_dir"), 0755) == -1);

  // Climbing that stays inside is allowed: escapes_test/a/in -> the preopen root.
  CHECK(symlink("../..", at("a/in")) == 0);
  CHECK(stat(at("a/in/escapes_test/a"), &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(lstat(at("a/in"), &st) == 0 && S_ISLNK(st.st_mode));
  char buf[64] = {0};
  CHECK(readlink(at("a/in"), buf, sizeof(buf)) == 5 && memcmp(buf, "../..", 5) == 0);
  struct timespec times[2] = {{1, 0}, {1, 0}};
  CHECK(utimensat(AT_FDCWD, at("a/in"), times, AT_SYMLINK_NOFOLLOW) == 0);
  expect_unreachable(at("a/in/../etc/passwd"));
  CHECK(unlink(at("a/in")) == 0);

  // chdir cannot leave either: the cwd is resolved against the preopens.
  CHECK(chdir(at("a")) == 0);
  expect_unreachable("../../../etc/passwd");
  expect_unreachable("../../..");
  CHECK(chdir(root) == 0);

  CHECK(rmdir(at("a")) == 0);
  CHECK(rmdir(dir) == 0);
  if (failures != 0) {
    printf("FAILED escapes: %d checks\n", failures);
    return 1;
  }
  printf("PASS escapes\n");
  return 0;
}
