// Text -> typed field value, with the strictness a config needs: no silent
// truncation, wrap-around or sign loss.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cstdint>
#include <string>

namespace shardrec::config::internal {

struct ScalarValue {
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  bool b = false;
  const google::protobuf::EnumValueDescriptor* e = nullptr;
  std::string s;
};

// Parses one value of field f (one element if f is repeated). On failure
// returns false and sets *expected to what the text should have been, e.g.
// "an unsigned integer" or "an unsigned 32-bit integer (at most 4294967295)".
bool ParseScalar(const std::string& text, const google::protobuf::FieldDescriptor* f, ScalarValue* out,
                 std::string* expected);

// Stores v into f: index < 0 sets the singular field; for a repeated field,
// index < size replaces that element and index == size appends.
void StoreScalar(google::protobuf::Message* msg, const google::protobuf::FieldDescriptor* f, int index,
                 const ScalarValue& v);

}  // namespace shardrec::config::internal
