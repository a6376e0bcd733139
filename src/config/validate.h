#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace shardrec::config::internal {

struct Violation {
  std::string path;     // key path of the offending value, "embedding.tables.0.name"
  std::string message;  // full sentence, starting with the path
};

// Every schema-bound violation in msg (defaults included), in declaration order.
std::vector<Violation> FindViolations(const google::protobuf::Message& msg);

}  // namespace shardrec::config::internal
