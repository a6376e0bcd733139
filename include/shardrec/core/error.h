// Errors with context: every failure says what failed and where.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace shardrec {

// The one exception type the library throws for user-facing failures (bad
// input, bad config, corrupt files, failed collectives). `what()` is the full
// message; launchers print it and exit non-zero.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
[[noreturn]] void ThrowCheckFailure(const char* file, int line, const char* expr, const std::string& msg);
}  // namespace detail

}  // namespace shardrec

// SR_CHECK(cond) << "extra context";  — throws shardrec::Error naming file:line and the expression.
#define SR_CHECK(cond) \
  if (cond) {          \
  } else               \
    ::shardrec::detail::CheckMessage(__FILE__, __LINE__, #cond)

// SR_THROW() << "message";  — throws shardrec::Error with the message (no expression).
#define SR_THROW() ::shardrec::detail::CheckMessage(nullptr, 0, nullptr)

namespace shardrec::detail {
// Collects the streamed message and throws from its destructor (which is why
// the destructor is noexcept(false)); used only through the macros above.
class CheckMessage {
 public:
  CheckMessage(const char* file, int line, const char* expr) : file_(file), line_(line), expr_(expr) {}
  CheckMessage(const CheckMessage&) = delete;
  ~CheckMessage() noexcept(false) { ThrowCheckFailure(file_, line_, expr_, stream_.str()); }
  template <typename T>
  CheckMessage& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  const char* file_;
  int line_;
  const char* expr_;
  std::ostringstream stream_;
};
}  // namespace shardrec::detail
