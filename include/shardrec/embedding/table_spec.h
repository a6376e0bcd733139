// The embedding tables of an experiment, resolved from the config and the
// data's shape (how many categorical features, their cardinalities).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.pb.h"

namespace shardrec {

struct TableSpec {
  std::string name;
  uint64_t rows = 0;
  int dim = 0;
  config::Pooling pooling = config::SUM;
  std::vector<int> features;  // categorical feature indices that look up this table
  config::ShardingType sharding = config::AUTO;
  int column_shards = 0;
  int pinned_rank = -1;
  int row_shards = 0;                          // ROW_WISE pieces (0 = one per rank)
  config::CompressionConfig compression;       // storage; FULL unless configured
  config::DType storage_dtype = config::FP32;  // type of the stored rows
  bool compressed() const { return compression.storage() != config::CompressionConfig::FULL; }
};

// Applies the config's defaults (one table per feature when none are listed,
// rows from the cardinality or default_rows, dim from default_dim) and checks
// that every feature is served by exactly one table. Rows are stored as
// `default_storage` unless a table sets its own type. Errors name the key.
std::vector<TableSpec> ResolveTables(const config::EmbeddingConfig& cfg, int num_sparse,
                                     const std::vector<uint64_t>& cardinalities,
                                     config::DType default_storage = config::FP32);

}  // namespace shardrec
