#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "shardrec/config/config.h"
#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "validate.h"
#include "yaml_merge.h"

namespace shardrec::config {

ExperimentConfig LoadConfigFromString(const std::string& yaml, const std::string& source_name,
                                      const std::vector<std::string>& overrides) {
  ExperimentConfig cfg = DefaultConfig();
  internal::Origins origins;
  try {
    YAML::Node root;
    try {
      root = YAML::Load(yaml);
    } catch (const YAML::ParserException& e) {
      std::string where = source_name;
      if (!e.mark.is_null()) where += Str(" line ", e.mark.line + 1, ", column ", e.mark.column + 1);
      throw Error(Str("YAML syntax error: ", e.msg, " (", where, ")"));
    }
    internal::YamlMerger(source_name, /*fixed_where=*/false, &origins).MergeMessage(root, &cfg, "");
    for (const std::string& o : overrides) internal::ApplyOverride(&cfg, o, &origins);
  } catch (const YAML::Exception& e) {
    // Not expected (the merge only reads node types and scalars); keep it a shardrec::Error with the source named.
    throw Error(Str(source_name, ": ", e.what()));
  }
  // Bounds are checked on the merged result so defaults and overrides are covered too; the
  // origin points back at the line or --set argument that produced the bad value.
  const std::vector<internal::Violation> violations = internal::FindViolations(cfg);
  if (!violations.empty()) {
    std::string text;
    for (const internal::Violation& v : violations) {
      const std::string where = origins.Find(v.path);
      text += (text.empty() ? "" : "\n") + v.message + (where.empty() ? " (default)" : " (" + where + ")");
    }
    throw Error(text);
  }
  return cfg;
}

ExperimentConfig LoadConfig(const std::string& yaml_path, const std::vector<std::string>& overrides) {
  if (yaml_path.empty()) return LoadConfigFromString("", "<no config file>", overrides);
  std::ifstream in(yaml_path, std::ios::binary);
  if (!in) throw Error(Str("cannot read config file '", yaml_path, "': ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(Str("cannot read config file '", yaml_path, "': ", std::strerror(errno)));
  return LoadConfigFromString(text.str(), yaml_path, overrides);
}

}  // namespace shardrec::config
