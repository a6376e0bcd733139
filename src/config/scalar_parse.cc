#include "scalar_parse.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "schema_text.h"

namespace shardrec::config::internal {

namespace pb = google::protobuf;

namespace {

bool IsPlainInteger(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool ParseDouble(const std::string& s, double* out) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;  // from_chars refuses a leading '+'
  if (begin == end) return false;
  auto res = std::from_chars(begin, end, *out);
  return res.ec == std::errc() && res.ptr == end && std::isfinite(*out);
}

enum class IntResult { kOk, kNotInteger, kOutOfRange };

// Integers beyond 2^53 must be written as digits; "1e6" is accepted because
// sample counts are naturally written that way.
IntResult ParseInteger(const std::string& s, bool is_unsigned, int bits, int64_t* iv, uint64_t* uv) {
  const uint64_t umax = bits == 32 ? std::numeric_limits<uint32_t>::max() : std::numeric_limits<uint64_t>::max();
  const uint64_t smax = bits == 32 ? static_cast<uint64_t>(std::numeric_limits<int32_t>::max())
                                   : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  bool negative = false;
  uint64_t magnitude = 0;
  if (IsPlainInteger(s)) {
    negative = s[0] == '-';
    const size_t skip = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    auto res = std::from_chars(s.data() + skip, s.data() + s.size(), magnitude);
    if (res.ec == std::errc::result_out_of_range)
      return is_unsigned && negative ? IntResult::kNotInteger : IntResult::kOutOfRange;
    if (magnitude == 0) negative = false;
  } else {
    double d = 0;
    if (!ParseDouble(s, &d) || d != std::floor(d)) return IntResult::kNotInteger;
    negative = d < 0;
    const double mag = std::fabs(d);
    if (mag >= std::ldexp(1.0, 64)) return is_unsigned && negative ? IntResult::kNotInteger : IntResult::kOutOfRange;
    magnitude = static_cast<uint64_t>(mag);
  }
  if (is_unsigned) {
    if (negative) return IntResult::kNotInteger;
    if (magnitude > umax) return IntResult::kOutOfRange;
    *uv = magnitude;
    return IntResult::kOk;
  }
  if (negative ? magnitude > smax + 1 : magnitude > smax) return IntResult::kOutOfRange;
  // Two's-complement negation of the magnitude; exact for magnitude == 2^63.
  *iv = negative ? static_cast<int64_t>(~magnitude + 1) : static_cast<int64_t>(magnitude);
  return IntResult::kOk;
}

std::string RangeText(bool is_unsigned, int bits) {
  if (is_unsigned) {
    const uint64_t umax = bits == 32 ? std::numeric_limits<uint32_t>::max() : std::numeric_limits<uint64_t>::max();
    return "an unsigned " + std::to_string(bits) + "-bit integer (at most " + std::to_string(umax) + ")";
  }
  const int64_t lo = bits == 32 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
  const int64_t hi = bits == 32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
  return "a " + std::to_string(bits) + "-bit integer (" + std::to_string(lo) + " .. " + std::to_string(hi) + ")";
}

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

bool ParseScalar(const std::string& text, const pb::FieldDescriptor* f, ScalarValue* out, std::string* expected) {
  bool is_unsigned = false;
  int bits = 64;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      is_unsigned = true;
      bits = 32;
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64: is_unsigned = true; break;
    case pb::FieldDescriptor::CPPTYPE_INT32: bits = 32; break;
    case pb::FieldDescriptor::CPPTYPE_INT64: break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      if (ParseDouble(text, &out->d)) return true;
      *expected = "a number";
      return false;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      if (ParseDouble(text, &out->d) && std::fabs(out->d) <= std::numeric_limits<float>::max()) return true;
      *expected = "a number (32-bit float)";
      return false;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      if (EqualsIgnoreCase(text, "true") || EqualsIgnoreCase(text, "false")) {
        out->b = EqualsIgnoreCase(text, "true");
        return true;
      }
      *expected = "true or false";
      return false;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* e = f->enum_type();
      for (int i = 0; i < e->value_count(); ++i) {
        if (EqualsIgnoreCase(text, e->value(i)->name())) {
          out->e = e->value(i);
          return true;
        }
      }
      *expected = "one of " + EnumNames(e);
      return false;
    }
    case pb::FieldDescriptor::CPPTYPE_STRING: out->s = text; return true;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: *expected = ExpectedText(f, true); return false;
  }
  switch (ParseInteger(text, is_unsigned, bits, &out->i, &out->u)) {
    case IntResult::kOk: return true;
    case IntResult::kNotInteger: *expected = is_unsigned ? "an unsigned integer" : "an integer"; return false;
    case IntResult::kOutOfRange: *expected = RangeText(is_unsigned, bits); return false;
  }
  return false;
}

void StoreScalar(pb::Message* msg, const pb::FieldDescriptor* f, int index, const ScalarValue& v) {
  const pb::Reflection* r = msg->GetReflection();
  const bool singular = index < 0;
  const bool append = !singular && index >= r->FieldSize(*msg, f);
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      const auto x = static_cast<int32_t>(v.i);
      singular ? r->SetInt32(msg, f, x) : append ? r->AddInt32(msg, f, x) : r->SetRepeatedInt32(msg, f, index, x);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_INT64:
      singular ? r->SetInt64(msg, f, v.i) : append ? r->AddInt64(msg, f, v.i) : r->SetRepeatedInt64(msg, f, index, v.i);
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      const auto x = static_cast<uint32_t>(v.u);
      singular ? r->SetUInt32(msg, f, x) : append ? r->AddUInt32(msg, f, x) : r->SetRepeatedUInt32(msg, f, index, x);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      singular ? r->SetUInt64(msg, f, v.u)
      : append ? r->AddUInt64(msg, f, v.u)
               : r->SetRepeatedUInt64(msg, f, index, v.u);
      break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      singular ? r->SetDouble(msg, f, v.d)
      : append ? r->AddDouble(msg, f, v.d)
               : r->SetRepeatedDouble(msg, f, index, v.d);
      break;
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      const auto x = static_cast<float>(v.d);
      singular ? r->SetFloat(msg, f, x) : append ? r->AddFloat(msg, f, x) : r->SetRepeatedFloat(msg, f, index, x);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      singular ? r->SetBool(msg, f, v.b) : append ? r->AddBool(msg, f, v.b) : r->SetRepeatedBool(msg, f, index, v.b);
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      singular ? r->SetEnum(msg, f, v.e) : append ? r->AddEnum(msg, f, v.e) : r->SetRepeatedEnum(msg, f, index, v.e);
      break;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      singular ? r->SetString(msg, f, v.s)
      : append ? r->AddString(msg, f, v.s)
               : r->SetRepeatedString(msg, f, index, v.s);
      break;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
}

}  // namespace shardrec::config::internal
