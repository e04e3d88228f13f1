// WASI stdio and poll_oneoff through wasi-libc: writes to stdout/stderr,
// poll() on stdout, on a regular file and with no fds (a sleep), fcntl and
// fstat on stdio, sched_yield. With an argument "stdin:TEXT" it also waits
// for stdin to become readable and checks that it holds exactly TEXT.
// A file for the regular-file poll goes into the sandbox (argv[1] when it
// does not start with "stdin:", default "/sandbox").
// Prints "PASS poll_stdio" and returns 0 only when every check held.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_stdout_stderr(void) {
  const char msg[] = "poll_stdio: raw write to stdout\n";
  CHECK(write(STDOUT_FILENO, msg, sizeof(msg) - 1) == (ssize_t)(sizeof(msg) - 1));
  CHECK(fprintf(stderr, "poll_stdio: message on stderr\n") > 0);
  CHECK(fflush(stdout) == 0);
  CHECK(fcntl(STDOUT_FILENO, F_GETFL) >= 0);
  CHECK((fcntl(STDIN_FILENO, F_GETFL) & O_ACCMODE) == O_RDONLY);
  struct stat st;
  CHECK(fstat(STDOUT_FILENO, &st) == 0);
  CHECK(read(STDOUT_FILENO, (char[4]){0}, 4) == -1 && errno == EBADF);
  CHECK(write(99, "x", 1) == -1 && errno == EBADF);
}

static void test_poll(const char* root) {
  struct pollfd out = {STDOUT_FILENO, POLLOUT, 0};
  CHECK(poll(&out, 1, 5000) == 1 && (out.revents & POLLOUT));

  // No fds: a pure sleep through a clock subscription.
  const int64_t start = now_ns();
  CHECK(poll(NULL, 0, 30) == 0);
  CHECK(now_ns() - start >= 30 * 1000 * 1000);

  // Regular files are always ready.
  char path[512];
  snprintf(path, sizeof(path), "%s/poll_test.txt", root);
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(fd >= 0);
  if (fd >= 0) {
    CHECK(write(fd, "abc", 3) == 3);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    struct pollfd file = {fd, POLLIN | POLLOUT, 0};
    CHECK(poll(&file, 1, 0) == 1 && (file.revents & POLLIN) && (file.revents & POLLOUT));
    close(fd);
    CHECK(unlink(path) == 0);
  }
  // A closed fd is reported, not fatal.
  struct pollfd bad = {123, POLLIN, 0};
  const int n = poll(&bad, 1, 0);
  CHECK(n == -1 || (n == 1 && (bad.revents & POLLNVAL)));
  CHECK(sched_yield() == 0);
}

static void test_stdin(const char* expected) {
  struct pollfd in = {STDIN_FILENO, POLLIN, 0};
  CHECK(poll(&in, 1, 10000) == 1 && (in.revents & (POLLIN | POLLHUP)));
  char buf[4096];
  size_t total = 0;
  for (;;) {
    const ssize_t r = read(STDIN_FILENO, buf + total, sizeof(buf) - 1 - total);
    CHECK(r >= 0);
    if (r <= 0) break;
    total += (size_t)r;
  }
  buf[total] = '\0';
  CHECK(strcmp(buf, expected) == 0);
}

int main(int argc, char** argv) {
  const char* root = "/sandbox";
  const char* stdin_text = NULL;
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], "stdin:", 6) == 0) {
      stdin_text = argv[i] + 6;
    } else {
      root = argv[i];
    }
  }
  test_stdout_stderr();
  test_poll(root);
  if (stdin_text != NULL) test_stdin(stdin_text);
  if (failures != 0) {
    printf("FAILED poll_stdio: %d checks\n", failures);
    return 1;
  }
  printf("PASS poll_stdio\n");
  return 0;
}
