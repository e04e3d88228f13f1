// What a guest sees of the outside world through WASI preview1.
#pragma once

#include <string>
#include <vector>

namespace samepage {

struct WasiConfig {
  std::vector<std::string> args;  // args[0] is the program name
  std::vector<std::string> env;   // "KEY=VALUE"
  struct Preopen {
    std::string host_path;
    std::string guest_path;
    bool writable = false;  // read-only unless granted (DESIGN.md §6)
  };
  std::vector<Preopen> preopens;  // guest fds 3, 4, ... in this order
  int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;  // host fds behind guest fds 0-2
};

}  // namespace samepage
