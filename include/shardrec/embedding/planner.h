// The sharding planner: decides where every table (or piece of one) lives.
#pragma once

#include <string>
#include <vector>

#include "config.pb.h"
#include "plan.pb.h"
#include "shardrec/embedding/table_spec.h"

namespace shardrec {

// Bytes of optimizer state per row for a sparse optimizer (per column for Adam).
double OptimizerStateFloatsPerRow(config::SparseOptimizerType type, int cols);

// Builds a plan for `world` ranks. Per-table overrides in the specs win; for
// AUTO tables: small tables (<= data_parallel_max_rows) are replicated, large
// ones (>= row_wise_min_rows) are row-sharded over all ranks, the rest are
// placed whole on the rank with the least load so far, where load mixes memory
// (parameters + optimizer state) and expected lookups, each normalised by its
// total. `avg_ids_per_sample[f]` is the expected bag length of feature f.
plan::ShardingPlan MakePlan(const std::vector<TableSpec>& tables, int world, const config::EmbeddingConfig& cfg,
                            const std::vector<double>& avg_ids_per_sample);

// Human-readable plan with per-rank totals, printed at start-up.
std::string DescribePlan(const plan::ShardingPlan& plan);

// Checks a plan against the tables and world size: every row and column of
// every table covered exactly once (or replicated for DATA_PARALLEL).
void ValidatePlan(const plan::ShardingPlan& plan, const std::vector<TableSpec>& tables, int world);

}  // namespace shardrec
