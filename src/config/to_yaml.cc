#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "schema_text.h"
#include "shardrec/config/config.h"

namespace shardrec::config {

namespace {

namespace pb = google::protobuf;

// Written by hand rather than with YAML::Emitter to control the layout: block
// maps for sections, flow lists for numbers, quoted strings, and doubles in
// shortest round-trip form.
void EmitMessage(const pb::Message& msg, int indent, std::string* out) {
  const pb::Descriptor* d = msg.GetDescriptor();
  const pb::Reflection* r = msg.GetReflection();
  const std::string pad(indent, ' ');
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    *out += pad + f->name() + ":";
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      *out += " " + (f->is_repeated() ? internal::ListText(msg, f) : internal::ScalarText(msg, f, -1)) + "\n";
      continue;
    }
    if (!f->is_repeated()) {
      if (f->message_type()->field_count() == 0) {
        *out += " {}\n";
      } else {
        *out += "\n";
        EmitMessage(r->GetMessage(msg, f), indent + 2, out);
      }
      continue;
    }
    const int n = r->FieldSize(msg, f);
    if (n == 0) {
      *out += " []\n";
      continue;
    }
    *out += "\n";
    for (int k = 0; k < n; ++k) {
      std::string body;
      EmitMessage(r->GetRepeatedMessage(msg, f, k), indent + 4, &body);
      if (body.empty()) {
        *out += pad + "  - {}\n";
      } else {
        // The first key of an element shares the line with its "- ".
        *out += pad + "  - " + body.substr(indent + 4);
      }
    }
  }
}

}  // namespace

std::string ToYaml(const ExperimentConfig& cfg) {
  std::string out;
  EmitMessage(cfg, 0, &out);
  return out;
}

}  // namespace shardrec::config
