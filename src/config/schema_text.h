// How schema fields and their values are written as text. Shared by the YAML
// dump, the Markdown reference and the error messages so all three agree.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>

namespace shardrec::config::internal {

// "a.b" + "c" -> "a.b.c"; the root has an empty path.
std::string JoinPath(const std::string& parent, const std::string& key);

// Shortest text that parses back to the same double; always looks like a float ("4.0", "1e-08").
std::string FormatDouble(double v);

// A YAML double-quoted scalar.
std::string QuoteString(const std::string& s);

// One scalar value of field f as YAML (index < 0: the singular field).
std::string ScalarText(const google::protobuf::Message& msg, const google::protobuf::FieldDescriptor* f, int index);

// A repeated scalar field as a YAML flow list: "[1, 2, 3]".
std::string ListText(const google::protobuf::Message& msg, const google::protobuf::FieldDescriptor* f);

// The declared numeric bounds: ">= 1", "> 0", ">= 0 and <= 1"; "" when none.
std::string NumericBoundsText(const google::protobuf::FieldDescriptor* f);

// All declared bounds, for the reference: numeric ones ("each >= 1" for a
// list, whose bounds apply per element) plus "non-empty".
std::string BoundsText(const google::protobuf::FieldDescriptor* f);

// The (schema.help) text, "" when absent.
std::string HelpText(const google::protobuf::FieldDescriptor* f);

// What a value of f (or of one element when `element`) must look like, for
// error messages: "an unsigned integer", "one of SUM, MEAN", "a list of maps".
std::string ExpectedText(const google::protobuf::FieldDescriptor* f, bool element);

// "SUM, MEAN"
std::string EnumNames(const google::protobuf::EnumDescriptor* e);

}  // namespace shardrec::config::internal
