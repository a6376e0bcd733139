#include "yaml_merge.h"

#include <vector>

#include "defaults.h"
#include "scalar_parse.h"
#include "schema_text.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "suggest.h"

namespace shardrec::config::internal {

namespace pb = google::protobuf;

void Origins::Forget(const std::string& path) {
  const std::string below = path + ".";
  for (auto it = where_.lower_bound(path); it != where_.end();) {
    if (it->first == path || it->first.compare(0, below.size(), below) == 0) {
      it = where_.erase(it);
    } else if (it->first.compare(0, path.size(), path) == 0) {
      ++it;  // a sibling sharing the prefix ("tables_x" after "tables")
    } else {
      break;
    }
  }
}

std::string Origins::Find(const std::string& path) const {
  std::string p = path;
  while (!p.empty()) {
    auto it = where_.find(p);
    if (it != where_.end()) return it->second;
    const size_t dot = p.rfind('.');
    p = dot == std::string::npos ? "" : p.substr(0, dot);
  }
  return "";
}

namespace {

std::string Got(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      std::string s = node.Scalar();
      if (s.size() > 60) s = s.substr(0, 57) + "...";
      return "'" + s + "'";
    }
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "nothing";
  }
}

std::string PathOrTop(const std::string& path) { return path.empty() ? "the top level" : path; }

}  // namespace

void ThrowUnknownKey(const pb::Descriptor* parent, const std::string& parent_path, const std::string& key,
                     const std::string& where) {
  std::vector<std::string> names;
  for (int i = 0; i < parent->field_count(); ++i) names.push_back(parent->field(i)->name());
  std::string msg = Str("unknown key '", JoinPath(parent_path, key), "' (", where, ")");
  const std::string best = ClosestName(key, names);
  if (!best.empty()) {
    msg += Str("; did you mean '", JoinPath(parent_path, best), "'?");
  } else {
    msg += Str("; valid keys in ", PathOrTop(parent_path), ":");
    for (size_t i = 0; i < names.size(); ++i) msg += (i == 0 ? " " : ", ") + names[i];
  }
  throw Error(msg);
}

std::string YamlMerger::Where(const YAML::Node& node) const {
  if (fixed_where_ || node.Mark().is_null()) return source_;
  return Str(source_, " line ", node.Mark().line + 1);
}

void YamlMerger::ThrowExpected(const std::string& path, const std::string& expected, const YAML::Node& got) const {
  throw Error(Str(PathOrTop(path), ": expected ", expected, ", got ", Got(got), " (", Where(got), ")"));
}

void YamlMerger::MergeMessage(const YAML::Node& node, pb::Message* msg, const std::string& path) {
  // A section whose keys are all commented out parses as null; that means "no changes".
  if (node.IsNull()) return;
  if (!node.IsMap()) ThrowExpected(path, "a map of keys", node);
  const pb::Descriptor* d = msg->GetDescriptor();
  std::map<std::string, YAML::Node> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's operator-> yields a temporary pair.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      throw Error(Str(PathOrTop(path), ": expected a key name, got ", Got(key), " (", Where(key), ")"));
    }
    const std::string& name = key.Scalar();
    const pb::FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) ThrowUnknownKey(d, path, name, Where(key));
    const std::string fpath = JoinPath(path, name);
    auto [first, inserted] = seen.emplace(name, key);
    if (!inserted) {
      // yaml-cpp keeps both entries; silently letting the later one win hides copy-paste mistakes.
      std::string msg_text = Str("duplicate key '", fpath, "' (", Where(key), ")");
      if (!fixed_where_ && !first->second.Mark().is_null()) {
        msg_text += Str("; it is already set at line ", first->second.Mark().line + 1);
      }
      throw Error(msg_text);
    }
    MergeField(value, msg, f, fpath);
  }
}

void YamlMerger::MergeField(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* f,
                            const std::string& path) {
  const pb::Reflection* r = msg->GetReflection();
  const bool is_message = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
  if (!f->is_repeated()) {
    if (is_message) {
      MergeMessage(node, r->MutableMessage(msg, f), path);
    } else {
      SetScalar(node, msg, f, -1, path);
    }
    return;
  }
  // A list replaces the previous one (usually the default) rather than appending to it;
  // `key:` with no value is the empty list.
  if (!node.IsNull() && !node.IsSequence()) ThrowExpected(path, ExpectedText(f, false), node);
  r->ClearField(msg, f);
  origins_->Forget(path);
  origins_->Record(path, Where(node));
  if (node.IsNull()) return;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node elem = node[i];
    const std::string epath = JoinPath(path, std::to_string(i));
    if (is_message) {
      pb::Message* m = r->AddMessage(msg, f);
      PopulateSubmessages(m);
      origins_->Record(epath, Where(elem));
      MergeMessage(elem, m, epath);
    } else {
      SetScalar(elem, msg, f, static_cast<int>(i), epath);
    }
  }
}

void YamlMerger::SetScalar(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* f, int index,
                           const std::string& path) {
  ScalarValue value;
  if (node.IsNull() && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
    // `train_path:` reads as the empty string, which is what such a key would mean.
  } else if (!node.IsScalar()) {
    ThrowExpected(path, ExpectedText(f, true), node);
  } else {
    std::string expected;
    if (!ParseScalar(node.Scalar(), f, &value, &expected)) ThrowExpected(path, expected, node);
  }
  StoreScalar(msg, f, index, value);
  origins_->Record(path, Where(node));
}

}  // namespace shardrec::config::internal
