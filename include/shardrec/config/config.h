// The config layer: YAML files and `--set key=value` overrides become one typed,
// validated ExperimentConfig (src/proto/config.proto is the schema). Every
// failure throws shardrec::Error naming the full key path and where the value
// came from (file and line, or the --set argument).
#pragma once

#include <string>
#include <vector>

#include "config.pb.h"

namespace shardrec::config {

// The proto defaults plus the defaults of repeated fields, which proto2 cannot
// declare: data.synthetic.cardinalities (26 Criteo-like sizes, 10 .. 10,000,000),
// model.dlrm.bottom_mlp = [512, 256, 64, 16], model.dlrm.top_mlp = [512, 256, 1].
// Every sub-message is present. Scalar fields are left unset (has_*() false) so
// that has_*() after loading means "the user set this".
ExperimentConfig DefaultConfig();

// DefaultConfig(), then the YAML file (skipped when yaml_path is empty), then
// each override "a.b.c=value" in order, then Validate().
ExperimentConfig LoadConfig(const std::string& yaml_path, const std::vector<std::string>& overrides = {});

// As LoadConfig, with the YAML given as text; source_name is used in messages.
ExperimentConfig LoadConfigFromString(const std::string& yaml, const std::string& source_name,
                                      const std::vector<std::string>& overrides = {});

// Applies "a.b.c=value" overrides to an existing config without validating.
// The value is a YAML scalar or flow collection ("[1, 2]", "{dim: 8}"); a
// string field takes the text after '=' verbatim. A list index selects an
// element ("embedding.tables.0.dim=8"); the index equal to the list's length
// appends one.
void ApplyOverrides(ExperimentConfig* cfg, const std::vector<std::string>& overrides);

// Checks the bounds declared in the schema ((schema.min), (schema.max),
// (schema.min_exclusive), (schema.non_empty)) on every field, defaults included.
// Throws one Error listing every violation, one per line.
void Validate(const ExperimentConfig& cfg);

// The whole effective config as YAML: every field in declaration order, enums
// by name, repeated scalars as flow lists. LoadConfigFromString(ToYaml(c))
// yields a config equivalent to c (equal values; every scalar then reads as set).
std::string ToYaml(const ExperimentConfig& cfg);

// The Markdown reference of every key (docs/configuration.md is its output).
std::string DescribeSchemaMarkdown();

}  // namespace shardrec::config
