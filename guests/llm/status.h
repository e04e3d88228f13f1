// Status and Result for the LLM guest: no exceptions (wasm32-wasi builds
// without them) and no dependency on the host's samepage/status.h.
#pragma once

#include <string>
#include <utility>

namespace llm {

// An error message prefixed by where it arose ("[gguf] ..."); empty when ok.
class [[nodiscard]] Status {
 public:
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed_ = true;
    s.message_ = std::move(message);
    return s;
  }
  bool is_ok() const { return !failed_; }
  const std::string& message() const { return message_; }

 private:
  bool failed_ = false;   // true for an error
  std::string message_;   // "[where] what went wrong"; empty when ok
};

// A value or an error Status; value() is only meaningful when is_ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}        // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {} // NOLINT: must be an error
  bool is_ok() const { return status_.is_ok(); }
  const std::string& message() const { return status_.message(); }
  const Status& status() const { return status_; }
  T& value() { return value_; }
  const T& value() const { return value_; }

 private:
  T value_{};      // the value when ok; default-constructed otherwise
  Status status_;  // ok, or why there is no value
};

}  // namespace llm
