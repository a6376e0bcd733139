// Reflection-driven merge of YAML into a protobuf message: the descriptors, not
// hand-written code, decide which keys exist and what their values must be.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

namespace shardrec::config::internal {

// Where each key got its value ("x.yaml line 3", "--set a=b"), by key path,
// so a later range error can point at the line that caused it.
class Origins {
 public:
  void Record(const std::string& path, const std::string& where) { where_[path] = where; }
  // Drops `path` and everything below it (a list that is replaced wholesale).
  void Forget(const std::string& path);
  // The origin of `path` or of its nearest recorded ancestor; "" when it is a default.
  std::string Find(const std::string& path) const;

 private:
  std::map<std::string, std::string> where_;
};

class YamlMerger {
 public:
  // `source` names the YAML in messages: "<source> line N" per node, or, with
  // fixed_where (a --set argument), `source` verbatim.
  YamlMerger(std::string source, bool fixed_where, Origins* origins)
      : source_(std::move(source)), fixed_where_(fixed_where), origins_(origins) {}

  // Merges a YAML map into msg; keys not present keep their values. `path` is msg's key path ("" at the root).
  void MergeMessage(const YAML::Node& node, google::protobuf::Message* msg, const std::string& path);
  // Sets field f from node: a scalar, a sub-message (merged) or a whole list (replaced).
  void MergeField(const YAML::Node& node, google::protobuf::Message* msg, const google::protobuf::FieldDescriptor* f,
                  const std::string& path);
  // Sets one scalar value; index as in StoreScalar.
  void SetScalar(const YAML::Node& node, google::protobuf::Message* msg, const google::protobuf::FieldDescriptor* f,
                 int index, const std::string& path);

  std::string Where(const YAML::Node& node) const;

 private:
  [[noreturn]] void ThrowExpected(const std::string& path, const std::string& expected, const YAML::Node& got) const;

  std::string source_;
  bool fixed_where_;
  Origins* origins_;
};

// "unknown key 'train.stesp' (<where>); did you mean 'train.steps'?" — or the
// valid keys of that section when nothing is close.
[[noreturn]] void ThrowUnknownKey(const google::protobuf::Descriptor* parent, const std::string& parent_path,
                                  const std::string& key, const std::string& where);

// Applies one "a.b.c=value" override.
void ApplyOverride(google::protobuf::Message* root, const std::string& arg, Origins* origins);

}  // namespace shardrec::config::internal
