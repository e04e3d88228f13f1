#include "engine/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace samepage {

Result<std::string> run_tool(const std::vector<std::string>& argv) {
  const char* where = "engine::tool";
  if (argv.empty()) return err(where, "no command");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return err(where, std::string("pipe: ") + strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return err(where, "cannot run " + argv[0] + ": " + strerror(rc));
  }
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) output.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    if (output.size() > 4000) output = output.substr(0, 4000) + "\n...";
    return err(where, argv[0] + " failed (" +
                          (WIFEXITED(wstatus) ? "exit code " + std::to_string(WEXITSTATUS(wstatus))
                                              : std::string("killed by a signal")) +
                          "):\n" + output);
  }
  return output;
}

}  // namespace samepage
