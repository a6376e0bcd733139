#include "validate.h"

#include <cmath>

#include "options.pb.h"
#include "schema_text.h"
#include "shardrec/config/config.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"

namespace shardrec::config {

namespace internal {

namespace pb = google::protobuf;

namespace {

bool IsNumber(const pb::FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return true;
    default: return false;
  }
}

double NumberAt(const pb::Message& msg, const pb::FieldDescriptor* f, int index) {
  const pb::Reflection* r = msg.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: return rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32: return rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f);
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: return rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f);
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f);
    default: return 0;
  }
}

void CheckNumber(const pb::Message& msg, const pb::FieldDescriptor* f, int index, const std::string& path,
                 std::vector<Violation>* out) {
  const double v = NumberAt(msg, f, index);
  if (!std::isfinite(v)) {
    out->push_back({path, Str(path, " = ", ScalarText(msg, f, index), " is not a finite number")});
    return;
  }
  const pb::FieldOptions& o = f->options();
  bool ok = true;
  if (o.HasExtension(schema::min)) {
    const double lo = o.GetExtension(schema::min);
    ok = o.GetExtension(schema::min_exclusive) ? v > lo : v >= lo;
  }
  if (o.HasExtension(schema::max)) ok = ok && v <= o.GetExtension(schema::max);
  if (!ok) {
    out->push_back(
        {path, Str(path, " = ", ScalarText(msg, f, index), " is out of range: must be ", NumericBoundsText(f))});
  }
}

void Walk(const pb::Message& msg, const std::string& path, std::vector<Violation>* out) {
  const pb::Descriptor* d = msg.GetDescriptor();
  const pb::Reflection* r = msg.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string fpath = JoinPath(path, f->name());
    const bool non_empty = f->options().GetExtension(schema::non_empty);
    if (f->is_repeated()) {
      const int n = r->FieldSize(msg, f);
      if (non_empty && n == 0) out->push_back({fpath, Str(fpath, " must not be empty")});
      for (int k = 0; k < n; ++k) {
        const std::string epath = JoinPath(fpath, std::to_string(k));
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          Walk(r->GetRepeatedMessage(msg, f, k), epath, out);
        } else if (IsNumber(f)) {
          CheckNumber(msg, f, k, epath, out);
        }
      }
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      // An absent sub-message still means its defaults, so it is checked like a present one.
      Walk(r->GetMessage(msg, f), fpath, out);
    } else if (IsNumber(f)) {
      CheckNumber(msg, f, -1, fpath, out);
    } else if (non_empty && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && r->GetString(msg, f).empty()) {
      out->push_back({fpath, Str(fpath, " must not be empty")});
    }
  }
}

}  // namespace

std::vector<Violation> FindViolations(const pb::Message& msg) {
  std::vector<Violation> out;
  Walk(msg, "", &out);
  return out;
}

}  // namespace internal

void Validate(const ExperimentConfig& cfg) {
  const std::vector<internal::Violation> violations = internal::FindViolations(cfg);
  if (violations.empty()) return;
  std::string text;
  for (const internal::Violation& v : violations) text += (text.empty() ? "" : "\n") + v.message;
  throw Error(text);
}

}  // namespace shardrec::config
