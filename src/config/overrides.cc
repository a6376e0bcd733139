// --set a.b.c=value: walks the key path through the descriptors, so overrides
// accept exactly the keys a YAML file does, plus list indices.
#include <vector>

#include "defaults.h"
#include "scalar_parse.h"
#include "schema_text.h"
#include "shardrec/config/config.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "yaml_merge.h"

namespace shardrec::config {

namespace internal {

namespace pb = google::protobuf;

namespace {

std::vector<std::string> SplitKey(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

YAML::Node ParseValue(const std::string& text, const std::string& path, const std::string& where) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(Str(path, ": the value is not valid YAML: ", e.msg, " (", where, ")"));
  }
}

// Strings take the text after '=' verbatim: a path like "C:/x" or a name with
// ": " in it should not need YAML quoting on a command line.
bool TakesRawText(const pb::FieldDescriptor* f) { return f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING; }

int ParseIndex(const std::string& seg, const std::string& list_path, int size, const std::string& where) {
  const std::string range = Str("0 .. ", size, ", where ", size, " appends");
  bool digits = !seg.empty() && seg.size() <= 9;
  for (char c : seg) digits = digits && c >= '0' && c <= '9';
  if (!digits) throw Error(Str(list_path, ": expected a list index (", range, "), got '", seg, "' (", where, ")"));
  const int index = std::stoi(seg);
  if (index > size) {
    throw Error(Str(list_path, ".", seg, ": index out of range: ", list_path, " has ", size,
                    size == 1 ? " element" : " elements", "; use ", range, " (", where, ")"));
  }
  return index;
}

}  // namespace

void ApplyOverride(pb::Message* root, const std::string& arg, Origins* origins) {
  const std::string where = "--set " + arg;
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error(Str("malformed override '", arg, "': expected key=value, e.g. --set train.steps=100"));
  }
  const std::string key = arg.substr(0, eq);
  const std::string text = arg.substr(eq + 1);
  const std::vector<std::string> segs = SplitKey(key);
  YamlMerger merger(where, /*fixed_where=*/true, origins);

  pb::Message* msg = root;
  std::string path;
  size_t i = 0;
  while (true) {
    const std::string& seg = segs[i];
    if (seg.empty()) throw Error(Str("malformed override key '", key, "': empty name between dots (", where, ")"));
    const pb::Reflection* r = msg->GetReflection();
    const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(seg);
    if (f == nullptr) ThrowUnknownKey(msg->GetDescriptor(), path, seg, where);
    const std::string fpath = JoinPath(path, seg);
    const bool is_message = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;

    if (i + 1 == segs.size()) {  // the key names the field itself
      if (!f->is_repeated() && TakesRawText(f)) {
        ScalarValue v;
        v.s = text;
        StoreScalar(msg, f, -1, v);
        origins->Record(fpath, where);
      } else {
        merger.MergeField(ParseValue(text, fpath, where), msg, f, fpath);
      }
      return;
    }

    if (f->is_repeated()) {
      const int size = r->FieldSize(*msg, f);
      const int index = ParseIndex(segs[i + 1], fpath, size, where);
      const std::string epath = JoinPath(fpath, std::to_string(index));
      const bool element_is_last = i + 2 == segs.size();
      if (is_message) {
        pb::Message* elem = nullptr;
        if (index < size) {
          elem = r->MutableRepeatedMessage(msg, f, index);
        } else {
          elem = r->AddMessage(msg, f);
          PopulateSubmessages(elem);
          origins->Record(epath, where);
        }
        if (element_is_last) {
          merger.MergeMessage(ParseValue(text, epath, where), elem, epath);
          return;
        }
        msg = elem;
        path = epath;
        i += 2;
        continue;
      }
      if (!element_is_last) {
        throw Error(Str("unknown key '", JoinPath(epath, segs[i + 2]), "' (", where, "); ", epath,
                        " is a single value and has no keys"));
      }
      if (TakesRawText(f)) {
        ScalarValue v;
        v.s = text;
        StoreScalar(msg, f, index, v);
        origins->Record(epath, where);
      } else {
        merger.SetScalar(ParseValue(text, epath, where), msg, f, index, epath);
      }
      return;
    }

    if (!is_message) {
      throw Error(Str("unknown key '", JoinPath(fpath, segs[i + 1]), "' (", where, "); ", fpath,
                      " is a single value and has no keys"));
    }
    msg = r->MutableMessage(msg, f);
    path = fpath;
    ++i;
  }
}

}  // namespace internal

void ApplyOverrides(ExperimentConfig* cfg, const std::vector<std::string>& overrides) {
  internal::Origins unused;
  for (const std::string& o : overrides) internal::ApplyOverride(cfg, o, &unused);
}

}  // namespace shardrec::config
