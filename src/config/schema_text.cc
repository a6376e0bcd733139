#include "schema_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "options.pb.h"

namespace shardrec::config::internal {

namespace pb = google::protobuf;

std::string JoinPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string FormatDouble(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? ".nan" : (v > 0 ? ".inf" : "-.inf");
  // Shortest round-trip digits; positional for everyday magnitudes (0.0005, not 5e-04).
  const double mag = std::fabs(v);
  const bool positional = mag == 0 || (mag >= 1e-4 && mag < 1e15);
  char buf[400];
  auto res = positional ? std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed)
                        : std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  // A bare "4" would read back fine, but "4.0" tells the reader the key is a float.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string QuoteString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string ScalarText(const pb::Message& msg, const pb::FieldDescriptor* f, int index) {
  const pb::Reflection* r = msg.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return FormatDouble(rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return FormatDouble(rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f));
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(msg, f, index) : r->GetBool(msg, f)) ? "true" : "false";
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(msg, f, index) : r->GetEnum(msg, f))->name();
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return QuoteString(rep ? r->GetRepeatedString(msg, f, index) : r->GetString(msg, f));
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
  return "";
}

std::string ListText(const pb::Message& msg, const pb::FieldDescriptor* f) {
  std::string out = "[";
  const int n = msg.GetReflection()->FieldSize(msg, f);
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += ScalarText(msg, f, i);
  }
  return out + "]";
}

namespace {
std::string BoundNumber(double v) {
  // Bounds are written by hand in the schema; print integers without ".0" so "must be >= 1" reads naturally.
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return FormatDouble(v);
}
}  // namespace

std::string NumericBoundsText(const pb::FieldDescriptor* f) {
  const pb::FieldOptions& o = f->options();
  std::string out;
  if (o.HasExtension(schema::min)) {
    out = (o.GetExtension(schema::min_exclusive) ? "> " : ">= ") + BoundNumber(o.GetExtension(schema::min));
  }
  if (o.HasExtension(schema::max)) {
    if (!out.empty()) out += " and ";
    out += "<= " + BoundNumber(o.GetExtension(schema::max));
  }
  return out;
}

std::string BoundsText(const pb::FieldDescriptor* f) {
  std::string out = NumericBoundsText(f);
  if (!out.empty() && f->is_repeated()) out = "each " + out;
  if (f->options().GetExtension(schema::non_empty)) out += out.empty() ? "non-empty" : " and non-empty";
  return out;
}

std::string HelpText(const pb::FieldDescriptor* f) { return f->options().GetExtension(schema::help); }

std::string EnumNames(const pb::EnumDescriptor* e) {
  std::string out;
  for (int i = 0; i < e->value_count(); ++i) {
    if (i > 0) out += ", ";
    out += e->value(i)->name();
  }
  return out;
}

namespace {
std::string Singular(const pb::FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64: return "an integer";
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64: return "an unsigned integer";
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return "a number";
    case pb::FieldDescriptor::CPPTYPE_BOOL: return "true or false";
    case pb::FieldDescriptor::CPPTYPE_ENUM: return "one of " + EnumNames(f->enum_type());
    case pb::FieldDescriptor::CPPTYPE_STRING: return "a string";
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: return "a map of keys";
  }
  return "a value";
}

std::string Plural(const pb::FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64: return "integers";
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64: return "unsigned integers";
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return "numbers";
    case pb::FieldDescriptor::CPPTYPE_BOOL: return "true/false values";
    case pb::FieldDescriptor::CPPTYPE_ENUM: return "names (each one of " + EnumNames(f->enum_type()) + ")";
    case pb::FieldDescriptor::CPPTYPE_STRING: return "strings";
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: return "maps";
  }
  return "values";
}
}  // namespace

std::string ExpectedText(const pb::FieldDescriptor* f, bool element) {
  if (f->is_repeated() && !element) return "a list of " + Plural(f);
  return Singular(f);
}

}  // namespace shardrec::config::internal
