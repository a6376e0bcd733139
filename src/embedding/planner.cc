#include "shardrec/embedding/planner.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <set>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/embedding/row_storage.h"

namespace shardrec {

double OptimizerStateFloatsPerRow(config::SparseOptimizerType type, int cols) {
  switch (type) {
    case config::SPARSE_SGD: return 0.0;
    case config::ROWWISE_ADAGRAD: return 1.0;
    case config::SPARSE_ADAM: return 2.0 * cols;
  }
  return 0.0;
}

namespace {

plan::Shard* AddShard(plan::TablePlan* tp, int rank, uint64_t r0, uint64_t r1, int c0, int c1) {
  plan::Shard* s = tp->add_shards();
  s->set_rank(rank);
  s->set_row_begin(r0);
  s->set_row_end(r1);
  s->set_col_begin(c0);
  s->set_col_end(c1);
  return s;
}

}  // namespace

plan::ShardingPlan MakePlan(const std::vector<TableSpec>& tables, int world, const config::EmbeddingConfig& cfg,
                            const std::vector<double>& avg_ids_per_sample) {
  SR_CHECK(world >= 1) << "world size " << world;
  const config::SparseOptimizerType opt = cfg.optimizer().type();
  plan::ShardingPlan plan;
  plan.set_world_size(world);

  // Per-table cost estimates.
  std::vector<double> bytes(tables.size()), lookups(tables.size());
  for (size_t t = 0; t < tables.size(); ++t) {
    const TableSpec& ts = tables[t];
    // A compressed table's budget is 1/CR of the full table.
    const bool cafe = ts.compression.storage() == config::CompressionConfig::CAFE ||
                      ts.compression.storage() == config::CompressionConfig::CAFE_MULTILEVEL;
    const double cr = !ts.compressed() || (cafe && CafeKeepsFull(ts.compression, ts.rows, ts.dim))
                          ? 1.0
                          : ts.compression.compression_ratio();
    bytes[t] = 4.0 * static_cast<double>(ts.rows) * (ts.dim + OptimizerStateFloatsPerRow(opt, ts.dim)) / cr;
    double ids = 0.0;
    for (int f : ts.features) ids += f < static_cast<int>(avg_ids_per_sample.size()) ? avg_ids_per_sample[f] : 1.0;
    lookups[t] = ids * ts.dim;
  }
  const double total_bytes = std::max(1.0, std::accumulate(bytes.begin(), bytes.end(), 0.0));
  const double total_lookups = std::max(1.0, std::accumulate(lookups.begin(), lookups.end(), 0.0));

  // Decide each table's type first.
  std::vector<config::ShardingType> type(tables.size());
  for (size_t t = 0; t < tables.size(); ++t) {
    const TableSpec& ts = tables[t];
    if (ts.sharding != config::AUTO) {
      type[t] = ts.sharding;
    } else if (ts.rows <= cfg.data_parallel_max_rows() && !ts.compressed()) {
      type[t] = config::DATA_PARALLEL;
    } else if (world > 1 && ts.rows >= cfg.row_wise_min_rows()) {
      type[t] = config::ROW_WISE;
    } else {
      type[t] = config::TABLE_WISE;
    }
  }

  // Row-wise and replicated tables load every rank evenly; account for them first.
  std::vector<double> load(world, 0.0);
  for (size_t t = 0; t < tables.size(); ++t) {
    if (type[t] == config::ROW_WISE) {
      const int k = tables[t].row_shards > 0 ? tables[t].row_shards : world;
      for (int i = 0; i < k; ++i) load[i % world] += (bytes[t] / total_bytes + lookups[t] / total_lookups) / k;
    } else if (type[t] == config::DATA_PARALLEL) {
      for (int r = 0; r < world; ++r) load[r] += bytes[t] / total_bytes;
    }
  }

  // Whole pieces (tables, column shards), greedy largest-first onto the least-loaded rank.
  struct Piece {
    size_t table;
    int col_begin, col_end;
    double cost;
  };
  std::vector<Piece> pieces;
  std::vector<int> first_piece_rank(tables.size(), -1);
  for (size_t t = 0; t < tables.size(); ++t) {
    const TableSpec& ts = tables[t];
    const double cost = bytes[t] / total_bytes + lookups[t] / total_lookups;
    if (type[t] == config::TABLE_WISE) {
      pieces.push_back({t, 0, ts.dim, cost});
    } else if (type[t] == config::COLUMN_WISE) {
      int k = ts.column_shards > 0 ? ts.column_shards : std::max(1, std::min(world, ts.dim / 4));
      while (ts.dim % k != 0) --k;
      const int w = ts.dim / k;
      for (int i = 0; i < k; ++i) pieces.push_back({t, i * w, (i + 1) * w, cost / k});
    }
  }
  std::vector<size_t> order(pieces.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pieces[a].cost > pieces[b].cost; });
  std::vector<int> piece_rank(pieces.size(), 0);
  std::vector<std::set<size_t>> holds(world);      // tables with a piece on each rank
  std::vector<int> holds_count(tables.size(), 0);  // ranks holding a piece of each table
  for (size_t idx : order) {
    const Piece& p = pieces[idx];
    const TableSpec& ts = tables[p.table];
    int rank;
    if (ts.pinned_rank >= 0) {
      SR_CHECK(ts.pinned_rank < world) << "table '" << ts.name << "' is pinned to rank " << ts.pinned_rank
                                       << " but the job has " << world << " ranks";
      // Column shards of a pinned table go round-robin from the pinned rank.
      rank = (ts.pinned_rank + p.col_begin / std::max(1, p.col_end - p.col_begin)) % world;
    } else {
      // Least-loaded rank; column shards of one table go to distinct ranks while
      // there are ranks left, since spreading them is the point of splitting.
      rank = -1;
      for (int r = 0; r < world; ++r) {
        if (holds[r].count(p.table) > 0 && holds_count[p.table] < world) continue;
        if (rank < 0 || load[r] < load[rank]) rank = r;
      }
    }
    piece_rank[idx] = rank;
    load[rank] += p.cost;
    if (holds[rank].insert(p.table).second) ++holds_count[p.table];
  }

  size_t next_piece = 0;
  for (size_t t = 0; t < tables.size(); ++t) {
    const TableSpec& ts = tables[t];
    plan::TablePlan* tp = plan.add_tables();
    tp->set_name(ts.name);
    tp->set_rows(ts.rows);
    tp->set_dim(ts.dim);
    tp->set_type(type[t]);
    tp->set_est_bytes(bytes[t] * (type[t] == config::DATA_PARALLEL ? world : 1));
    tp->set_est_lookups(lookups[t] / ts.dim);
    switch (type[t]) {
      case config::ROW_WISE: {
        // K contiguous row ranges (compressed tables: K id-hash partitions), round-robin over ranks.
        const uint64_t k = ts.row_shards > 0 ? static_cast<uint64_t>(ts.row_shards) : static_cast<uint64_t>(world);
        for (uint64_t i = 0; i < k; ++i) {
          AddShard(tp, static_cast<int>(i % world), ts.rows * i / k, ts.rows * (i + 1) / k, 0, ts.dim);
        }
        break;
      }
      case config::DATA_PARALLEL:
        for (int r = 0; r < world; ++r) AddShard(tp, r, 0, ts.rows, 0, ts.dim);
        break;
      case config::TABLE_WISE:
      case config::COLUMN_WISE:
        while (next_piece < pieces.size() && pieces[next_piece].table == t) {
          AddShard(tp, piece_rank[next_piece], 0, ts.rows, pieces[next_piece].col_begin, pieces[next_piece].col_end);
          ++next_piece;
        }
        break;
      default: SR_THROW() << "table '" << ts.name << "': unsupported sharding type " << type[t];
    }
  }
  ValidatePlan(plan, tables, world);
  return plan;
}

void ValidatePlan(const plan::ShardingPlan& plan, const std::vector<TableSpec>& tables, int world) {
  SR_CHECK(plan.world_size() == world) << "plan made for " << plan.world_size() << " ranks used with " << world;
  SR_CHECK(plan.tables_size() == static_cast<int>(tables.size()))
      << "plan has " << plan.tables_size() << " tables, the model " << tables.size();
  for (int t = 0; t < plan.tables_size(); ++t) {
    const plan::TablePlan& tp = plan.tables(t);
    const TableSpec& ts = tables[t];
    SR_CHECK(tp.name() == ts.name && tp.rows() == ts.rows && static_cast<int>(tp.dim()) == ts.dim)
        << "plan table " << t << " ('" << tp.name() << "') does not match table '" << ts.name << "'";
    SR_CHECK(tp.shards_size() > 0) << "table '" << ts.name << "' has no shards";
    for (const plan::Shard& s : tp.shards()) {
      SR_CHECK(s.rank() >= 0 && s.rank() < world) << "table '" << ts.name << "': shard on rank " << s.rank();
      SR_CHECK(s.row_begin() <= s.row_end() && s.row_end() <= ts.rows && s.col_begin() < s.col_end() &&
               static_cast<int>(s.col_end()) <= ts.dim)
          << "table '" << ts.name << "': bad shard bounds";
    }
    SR_CHECK(!ts.compressed() || tp.type() == config::TABLE_WISE || tp.type() == config::ROW_WISE)
        << "table '" << ts.name << "': a compressed table must be TABLE_WISE or ROW_WISE, not "
        << config::ShardingType_Name(tp.type());
    if (tp.type() == config::DATA_PARALLEL) {
      SR_CHECK(tp.shards_size() == world) << "table '" << ts.name << "': a replicated table needs one shard per rank";
      continue;
    }
    // Rows x columns covered exactly once: shards tile rows within a column
    // range (row-wise) or columns over full rows (table/column-wise).
    uint64_t covered = 0;
    for (const plan::Shard& s : tp.shards()) covered += (s.row_end() - s.row_begin()) * (s.col_end() - s.col_begin());
    SR_CHECK(covered == ts.rows * static_cast<uint64_t>(ts.dim))
        << "table '" << ts.name << "': shards cover " << covered << " of " << ts.rows * ts.dim << " cells";
  }
}

std::string DescribePlan(const plan::ShardingPlan& plan) {
  const int world = plan.world_size();
  std::vector<double> mem(world, 0.0), look(world, 0.0);
  std::string out = Str("sharding plan for ", world, " rank(s):\n");
  for (const plan::TablePlan& tp : plan.tables()) {
    std::string where;
    for (const plan::Shard& s : tp.shards()) {
      const double frac = static_cast<double>(s.row_end() - s.row_begin()) / std::max<uint64_t>(1, tp.rows()) *
                          (s.col_end() - s.col_begin()) / tp.dim();
      const bool replicated = tp.type() == config::DATA_PARALLEL;
      mem[s.rank()] += replicated ? tp.est_bytes() / world : tp.est_bytes() * frac;
      look[s.rank()] += replicated ? tp.est_lookups() / world : tp.est_lookups() * frac;
      char buf[128];
      std::snprintf(buf, sizeof(buf), " r%d[rows %llu-%llu cols %u-%u]", s.rank(),
                    static_cast<unsigned long long>(s.row_begin()), static_cast<unsigned long long>(s.row_end()),
                    s.col_begin(), s.col_end());
      if (tp.shards_size() <= 4) where += buf;
    }
    if (tp.shards_size() > 4) where = Str(" ", tp.shards_size(), " shards");
    char line[256];
    std::snprintf(line, sizeof(line), "  %-12s %-13s rows %10llu dim %4u %9.2f MB%s\n", tp.name().c_str(),
                  config::ShardingType_Name(tp.type()).c_str(), static_cast<unsigned long long>(tp.rows()), tp.dim(),
                  tp.est_bytes() / 1e6, where.c_str());
    out += line;
  }
  for (int r = 0; r < world; ++r) {
    char line[128];
    std::snprintf(line, sizeof(line), "  rank %d: %.2f MB parameters+state, %.2f ids/sample looked up\n", r,
                  mem[r] / 1e6, look[r]);
    out += line;
  }
  return out;
}

}  // namespace shardrec
