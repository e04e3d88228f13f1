// WASI directories through wasi-libc's POSIX API, in a fresh directory under
// the preopened sandbox (argv[1], default "/sandbox"): mkdir/rmdir,
// opendir/readdir/rewinddir/telldir/seekdir, scandir, rename, symlink,
// readlink, lstat, link, chdir with relative paths.
// Prints "PASS dirs" and returns 0 only when every check held.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static void touch(const char* path) {
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
}

#define N_FILES 50

// Bit i of the result is set when "f<i>" was listed; also counts . and ..
static unsigned long long list(DIR* d, int* dots, int* subdirs, int* links) {
  unsigned long long seen = 0;
  *dots = *subdirs = *links = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      (*dots)++;
      CHECK(e->d_type == DT_DIR);
    } else if (e->d_name[0] == 'f') {
      const int i = atoi(e->d_name + 1);
      CHECK(i >= 0 && i < N_FILES && !(seen & (1ull << i)));
      seen |= 1ull << i;
      CHECK(e->d_type == DT_REG);
    } else if (strcmp(e->d_name, "sub") == 0) {
      (*subdirs)++;
      CHECK(e->d_type == DT_DIR);
    } else if (strcmp(e->d_name, "ln") == 0) {
      (*links)++;
      CHECK(e->d_type == DT_LNK);
    } else {
      printf("unexpected entry %s\n", e->d_name);
      failures++;
    }
  }
  return seen;
}

static void test_readdir(void) {
  char name[32];
  for (int i = 0; i < N_FILES; ++i) {
    snprintf(name, sizeof(name), "f%d", i);
    touch(at(name));
  }
  CHECK(mkdir(at("sub"), 0755) == 0);
  CHECK(symlink("f0", at("ln")) == 0);

  DIR* d = opendir(dir);
  CHECK(d != NULL);
  if (d == NULL) return;
  int dots, subdirs, links;
  CHECK(list(d, &dots, &subdirs, &links) == (1ull << N_FILES) - 1);
  CHECK(dots == 2 && subdirs == 1 && links == 1);
  rewinddir(d);
  CHECK(list(d, &dots, &subdirs, &links) == (1ull << N_FILES) - 1);

  // telldir/seekdir return to a remembered place.
  rewinddir(d);
  struct dirent* e = readdir(d);
  CHECK(e != NULL);
  e = readdir(d);
  const long pos = telldir(d);
  e = readdir(d);
  CHECK(e != NULL);
  char third[256] = {0};
  if (e != NULL) snprintf(third, sizeof(third), "%s", e->d_name);
  while (readdir(d) != NULL) {
  }
  seekdir(d, pos);
  e = readdir(d);
  CHECK(e != NULL && strcmp(e->d_name, third) == 0);
  CHECK(closedir(d) == 0);

  struct dirent** names = NULL;
  const int n = scandir(dir, &names, NULL, alphasort);
  CHECK(n == N_FILES + 4);
  if (n > 1) CHECK(strcmp(names[0]->d_name, ".") == 0 && strcmp(names[1]->d_name, "..") == 0);
  for (int i = 0; i < n; ++i) free(names[i]);
  free(names);

  for (int i = 0; i < N_FILES; ++i) {
    snprintf(name, sizeof(name), "f%d", i);
    CHECK(unlink(at(name)) == 0);
  }
}

static void test_mkdir_rmdir_rename(void) {
  CHECK(mkdir(at("sub"), 0755) == -1 && errno == EEXIST);
  CHECK(mkdir(at("sub/a"), 0755) == 0);
  CHECK(mkdir(at("sub/a/b"), 0755) == 0);
  CHECK(mkdir(at("nope/x"), 0755) == -1 && errno == ENOENT);
  struct stat st;
  CHECK(stat(at("sub/a/b"), &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(rmdir(at("sub/a")) == -1 && errno == ENOTEMPTY);
  CHECK(rename(at("sub/a"), at("moved")) == 0);
  CHECK(stat(at("moved/b"), &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(stat(at("sub/a"), &st) == -1 && errno == ENOENT);
  touch(at("moved/file"));
  CHECK(rmdir(at("moved/file")) == -1 && errno == ENOTDIR);
  CHECK(unlink(at("moved/b")) == -1 && (errno == EISDIR || errno == EPERM));
  CHECK(unlink(at("moved/file")) == 0);
  CHECK(rmdir(at("moved/b")) == 0);
  CHECK(rmdir(at("moved")) == 0);
}

static void test_links(void) {
  int fd = open(at("target"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  CHECK(fd >= 0 && write(fd, "via link", 8) == 8);
  if (fd >= 0) close(fd);
  // "ln" -> "f0" from test_readdir now dangles.
  struct stat st;
  CHECK(lstat(at("ln"), &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(stat(at("ln"), &st) == -1 && errno == ENOENT);
  CHECK(unlink(at("ln")) == 0);

  CHECK(symlink("target", at("ln")) == 0);
  CHECK(symlink("target", at("ln")) == -1 && errno == EEXIST);
  char buf[64] = {0};
  CHECK(readlink(at("ln"), buf, sizeof(buf)) == 6 && memcmp(buf, "target", 6) == 0);
  CHECK(readlink(at("target"), buf, sizeof(buf)) == -1 && errno == EINVAL);
  CHECK(stat(at("ln"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 8);
  fd = open(at("ln"), O_RDONLY);
  CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 8 && memcmp(buf, "via link", 8) == 0);
  if (fd >= 0) close(fd);
  CHECK(open(at("ln"), O_RDONLY | O_NOFOLLOW) == -1 && errno == ELOOP);

  // Symlink to a directory, used as a path prefix.
  CHECK(symlink("sub", at("sublink")) == 0);
  touch(at("sublink/inside"));
  CHECK(stat(at("sub/inside"), &st) == 0);
  CHECK(unlink(at("sub/inside")) == 0);

  CHECK(link(at("target"), at("hard")) == 0);
  struct stat a, b;
  CHECK(stat(at("target"), &a) == 0 && stat(at("hard"), &b) == 0);
  CHECK(a.st_ino == b.st_ino && a.st_nlink == 2);
  CHECK(unlink(at("hard")) == 0 && unlink(at("ln")) == 0 && unlink(at("sublink")) == 0);
  CHECK(unlink(at("target")) == 0);
}

static void test_chdir_relative(const char* root) {
  CHECK(chdir(at("sub")) == 0);
  touch("rel.txt");
  struct stat st;
  CHECK(stat(at("sub/rel.txt"), &st) == 0);
  CHECK(stat("../sub/rel.txt", &st) == 0);
  CHECK(unlink("rel.txt") == 0);
  CHECK(chdir(root) == 0);
}

int main(int argc, char** argv) {
  const char* root = argc > 1 ? argv[1] : "/sandbox";
  snprintf(dir, sizeof(dir), "%s/dirs_test", root);
  CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST);
  test_readdir();
  test_mkdir_rmdir_rename();
  test_links();
  test_chdir_relative(root);
  CHECK(rmdir(at("sub")) == 0);
  CHECK(rmdir(dir) == 0);
  if (failures != 0) {
    printf("FAILED dirs: %d checks\n", failures);
    return 1;
  }
  printf("PASS dirs\n");
  return 0;
}
