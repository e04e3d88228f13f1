#include "engine/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

extern char** environ;

namespace samepage {

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env_path = std::getenv("PATH");
  std::istringstream dirs(env_path != nullptr ? env_path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

namespace {

// The hard limit sits one unit above the soft one: at the soft CPU limit the
// kernel sends SIGXCPU (reported as such), at the hard one SIGKILL.
void set_limit(int resource, uint64_t value) {
  if (value == 0) return;
  struct rlimit limit {};
  limit.rlim_cur = static_cast<rlim_t>(value);
  limit.rlim_max = static_cast<rlim_t>(value + 1);
  setrlimit(resource, &limit);
}

int ms_until(std::chrono::steady_clock::time_point deadline) {
  if (deadline == std::chrono::steady_clock::time_point::max()) return 1000;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1000));
}

}  // namespace

std::string ToolRun::how_it_ended() const {
  if (timed_out) return "killed at its time limit";
  if (signal == SIGXCPU) return "killed by signal " + std::to_string(signal) + " (CPU-time limit)";
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

Result<ToolRun> run_tool(const std::vector<std::string>& argv, const ToolLimits& limits) {
  const char* where = "engine::tool";
  if (argv.empty()) return err(where, "no command");
  const std::string program = find_program(argv[0]);
  if (program.empty()) return err(where, "cannot run " + argv[0] + ": not found in PATH");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) return err(where, std::string("/dev/null: ") + strerror(errno));
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    close(dev_null);
    return err(where, std::string("pipe: ") + strerror(errno));
  }
  const pid_t pid = fork();
  if (pid == 0) {
    // Own process group, so the deadline kills the compiler's children too.
    setpgid(0, 0);
    set_limit(RLIMIT_CPU, limits.cpu_seconds);
    set_limit(RLIMIT_AS, limits.address_space_bytes);
    dup2(dev_null, 0);
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    execve(program.c_str(), args.data(), environ);
    _exit(127);
  }
  const int fork_errno = errno;
  close(dev_null);
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    return err(where, "cannot run " + argv[0] + ": " + strerror(fork_errno));
  }
  setpgid(pid, pid);  // also here: whichever runs first, the group exists before a kill

  ToolRun run;
  char buf[4096];
  for (;;) {
    const int wait_ms = ms_until(limits.deadline);
    if (wait_ms == 0) {
      run.timed_out = true;
      break;
    }
    struct pollfd pfd {pipe_fds[0], POLLIN, 0};
    const int ready = poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every writer closed its end
    const size_t room = kToolOutputKeptBytes - std::min(kToolOutputKeptBytes, run.output.size());
    run.output.append(buf, std::min(room, static_cast<size_t>(n)));
  }
  close(pipe_fds[0]);
  int wstatus = 0;
  // The tool closed its output; it still gets until the deadline to exit.
  while (!run.timed_out) {
    const pid_t done = waitpid(pid, &wstatus, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (ms_until(limits.deadline) == 0) run.timed_out = true;
    else std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (run.timed_out) {
    kill(-pid, SIGKILL);
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
    return run;
  }
  if (WIFEXITED(wstatus)) run.exit_code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) run.signal = WTERMSIG(wstatus);
  if (run.exit_code == 127 && run.output.empty()) return err(where, "cannot run " + program);
  return run;
}

std::string tool_output_summary(const std::string& output) {
  constexpr size_t kMaxLines = 8;
  constexpr size_t kMaxBytes = 1024;
  std::string out;
  size_t lines = 0;
  size_t i = 0;
  for (; i < output.size() && lines < kMaxLines && out.size() < kMaxBytes; ++i) {
    const auto byte = static_cast<uint8_t>(output[i]);
    if (byte == '\n') {
      ++lines;
      if (lines < kMaxLines) out += '\n';
    } else if (byte < 0x20 || byte >= 0x7f || byte == '\\') {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    } else {
      out += static_cast<char>(byte);
    }
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (i < output.size()) out += "\n... (" + std::to_string(output.size() - i) + " more bytes not shown)";
  return out;
}

}  // namespace samepage
