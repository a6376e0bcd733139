#include "shardrec/core/error.h"

namespace shardrec::detail {

void ThrowCheckFailure(const char* file, int line, const char* expr, const std::string& msg) {
  std::string full;
  if (expr != nullptr) {
    full = "check failed: " + std::string(expr);
    if (!msg.empty()) full += ": " + msg;
    full += " [" + std::string(file) + ":" + std::to_string(line) + "]";
  } else {
    full = msg;
  }
  throw Error(full);
}

}  // namespace shardrec::detail
