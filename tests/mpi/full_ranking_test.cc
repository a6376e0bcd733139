// Full-ranking evaluation over a sharded item table, under 1, 2 and 4 ranks:
// FullRanker::Rank must return, for every query of every rank, exactly the
// rank a brute-force pass over the gathered table gives, in both protocols
// (all items; seen items scored 0), for row-wise, table-wise and replicated
// tables, with uneven query counts (one rank has none).
//
// Exactness: the ranker scores with a GEMM, the reference with plain dot
// products, and a float sum's rounding depends on its order. The table rows
// are therefore small integers whose L2 norm is a power of two (normalising
// divides exactly, leaving multiples of 1/4), and the queries hold multiples
// of 1/4 in [-1, 1]: every product and partial sum is a multiple of 1/16 of
// size at most 8, exact in float in any order, so no near-tie can flip.
// Exact ties are then common and exercise the id tie-break (RanksAhead),
// which one test also checks against closed-form ranks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "shardrec/comm/communicator.h"
#include "shardrec/core/ranking_metrics.h"
#include "shardrec/core/rng.h"
#include "shardrec/embedding/planner.h"
#include "shardrec/embedding/sharded_collection.h"
#include "shardrec/train/full_ranking.h"
#include "test_util.h"

namespace shardrec {
namespace {

Communicator& Comm() {
  static std::unique_ptr<Communicator> comm = MakeMpiCommunicator();
  return *comm;
}

constexpr int kDim = 8;
constexpr uint64_t kSeed = 31;

// Queries per rank: uneven, and rank 1 has none (under 2 and 4 ranks).
int64_t QueriesOnRank(int rank) {
  constexpr int64_t kCounts[] = {7, 0, 13, 4};
  return kCounts[rank % 4];
}

config::EmbeddingConfig SgdConfig() {
  config::EmbeddingConfig cfg;
  // SGD at lr 1 lets SetTable write rows exactly (see there).
  cfg.mutable_optimizer()->set_type(config::SPARSE_SGD);
  cfg.mutable_optimizer()->set_lr(1.0);
  return cfg;
}

TableSpec ItemTable(uint64_t rows, config::ShardingType sharding, int row_shards = 0) {
  TableSpec t;
  t.name = "items";
  t.rows = rows;
  t.dim = kDim;
  t.features = {0};
  t.sharding = sharding;
  t.row_shards = row_shards;
  return t;
}

// Row r of the test table: a small-integer vector with a norm of 0, 1, 2 or 4,
// so that normalised entries are multiples of 1/4. Several rows share a
// pattern, so exact score ties between different items are frequent.
std::vector<float> TableRow(uint64_t r) {
  CounterRng rng(kSeed, 1, r);
  std::vector<float> v(kDim, 0.0f);
  std::vector<int> pos(kDim);
  for (int i = 0; i < kDim; ++i) pos[i] = i;
  for (int i = kDim - 1; i > 0; --i) std::swap(pos[i], pos[rng.Below(static_cast<uint64_t>(i) + 1)]);
  auto sign = [&]() { return rng.Below(2) == 0 ? 1.0f : -1.0f; };
  switch (rng.Below(8)) {
    case 0:  // zero row: every score 0
      break;
    case 1:  // norm 1
      v[pos[0]] = sign();
      break;
    case 2:  // norm 2
      v[pos[0]] = 2 * sign();
      break;
    case 3:  // 4 x 1 = 4: norm 2
      for (int i = 0; i < 4; ++i) v[pos[i]] = sign();
      break;
    case 4:  // 4 x 4 = 16: norm 4
      for (int i = 0; i < 4; ++i) v[pos[i]] = 2 * sign();
      break;
    case 5:  // 9 + 7 = 16: norm 4
      v[pos[0]] = 3 * sign();
      for (int i = 1; i < kDim; ++i) v[pos[i]] = sign();
      break;
    case 6:  // 3 x 4 + 4 = 16: norm 4
      for (int i = 0; i < 3; ++i) v[pos[i]] = 2 * sign();
      for (int i = 3; i < 7; ++i) v[pos[i]] = sign();
      break;
    default:  // norm 4
      v[pos[0]] = 4 * sign();
      break;
  }
  return v;
}

MatF TestTable(uint64_t rows) {
  MatF t(static_cast<int64_t>(rows), kDim);
  for (uint64_t r = 0; r < rows; ++r) {
    const std::vector<float> v = TableRow(r);
    for (int c = 0; c < kDim; ++c) t(static_cast<int64_t>(r), c) = v[c];
  }
  return t;
}

// Writes `target` into table 0 through the public training path, as the
// collection has no setter: under SPARSE_SGD with lr 1, a step whose gradient
// is each row's current value leaves exactly w - w = 0, and a second step with
// gradient -target leaves exactly 0 + target. Every row is looked up once, by
// one rank, so no gradient sum rounds. Collective.
void SetTable(ShardedEmbeddingCollection& coll, Communicator& comm, const MatF& target) {
  const MatF current = coll.GatherTable(0);
  ASSERT_EQ(current.rows(), target.rows());
  Batch b;
  b.sparse.resize(1);
  for (int64_t r = comm.rank(); r < target.rows(); r += comm.size()) {
    b.sparse[0].values.push_back(static_cast<uint64_t>(r));
    b.sparse[0].lengths.push_back(1);
  }
  b.batch_size = static_cast<int64_t>(b.sparse[0].values.size());
  for (int step = 0; step < 2; ++step) {
    std::vector<MatF> out;
    coll.Forward(b, &out, /*training=*/true);
    std::vector<MatF> g(1, MatF(b.batch_size, kDim));
    for (int64_t i = 0; i < b.batch_size; ++i) {
      const int64_t r = static_cast<int64_t>(b.sparse[0].values[i]);
      g[0].row(i) = step == 0 ? MatF(current.row(r)) : MatF(-target.row(r));
    }
    coll.BackwardAndUpdate(g, static_cast<uint64_t>(step));
  }
  const MatF now = coll.GatherTable(0);
  ASSERT_TRUE(now == target) << "could not write the test table: max difference "
                             << (now - target).cwiseAbs().maxCoeff();
}

// Row r divided by its norm, in double (exact here: the norms are powers of two).
std::vector<double> NormalisedRow(const MatF& table, uint64_t item) {
  const int64_t r = static_cast<int64_t>(item);
  std::vector<double> v(kDim);
  double sq = 0;
  for (int c = 0; c < kDim; ++c) sq += static_cast<double>(table(r, c)) * table(r, c);
  const double n = std::sqrt(sq);
  for (int c = 0; c < kDim; ++c) v[c] = n > 0 ? table(r, c) / n : 0.0;
  return v;
}

// Deterministic queries of rank `rank`: users with entries in {-1, -3/4, .., 1};
// labels anywhere in 1..max_item_id; label scores the exact dot with the label's
// normalised row, except every fifth query, whose score is an unrelated
// multiple of 1/16 (the ranker must use the score it is given, as the trainer
// computes it from its own lookup). Seen lists are 0..14 long with repeats,
// sometimes the label itself, item 0, ids past max_item_id but inside the
// table, and ids past the table.
RankQueries MakeQueries(int rank, const MatF& table, uint64_t max_item_id) {
  RankQueries q;
  const int64_t n = QueriesOnRank(rank);
  q.users.resize(n, kDim);
  for (int64_t i = 0; i < n; ++i) {
    CounterRng rng(kSeed, 2 + static_cast<uint64_t>(rank), static_cast<uint64_t>(i));
    for (int c = 0; c < kDim; ++c) q.users(i, c) = static_cast<float>(static_cast<int>(rng.Below(9)) - 4) / 4.0f;
    const uint64_t label = 1 + rng.Below(max_item_id);
    q.labels.push_back(label);
    double t = 0;
    const std::vector<double> lr = NormalisedRow(table, label);
    for (int c = 0; c < kDim; ++c) t += q.users(i, c) * lr[c];
    if (i % 5 == 4) t = (static_cast<double>(rng.Below(33)) - 16.0) / 16.0;
    q.label_scores.push_back(static_cast<float>(t));
    const int len = static_cast<int>(rng.Below(15));
    for (int k = 0; k < len; ++k) {
      const uint64_t kind = rng.Below(10);
      uint64_t id;
      if (kind == 0) {
        id = label;
      } else if (kind == 1 && static_cast<int64_t>(q.seen.size()) > q.seen_offsets.back()) {
        id = q.seen.back();  // a repeat purchase
      } else if (kind == 2) {
        id = static_cast<uint64_t>(table.rows()) + rng.Below(1000);  // past the table
      } else if (kind == 3) {
        id = max_item_id + rng.Below(static_cast<uint64_t>(table.rows()) - max_item_id);  // rows that are no item
      } else if (kind == 4) {
        id = rng.Below(2) == 0 ? 0 : (uint64_t{1} << 40);
      } else if (kind == 5) {
        id = label > 1 ? label - 1 : label + 1;  // the neighbours of the label in id order: tie-break partners
      } else {
        id = 1 + rng.Below(max_item_id);
      }
      q.seen.push_back(id);
    }
    q.seen_offsets.push_back(static_cast<int64_t>(q.seen.size()));
  }
  return q;
}

// Brute force: score every item 1..max_item_id against every query and count
// those that rank ahead of the label; seen items (once each) score exactly 0 in
// the second protocol, as does the label when it was seen.
FullRanks ReferenceRanks(const std::vector<RankQueries>& all, const MatF& table, uint64_t max_item_id) {
  std::vector<std::vector<double>> rows(max_item_id + 1);
  for (uint64_t j = 1; j <= max_item_id; ++j) rows[j] = NormalisedRow(table, j);
  FullRanks r;
  for (const RankQueries& q : all) {
    for (size_t i = 0; i < q.labels.size(); ++i) {
      const uint64_t label = q.labels[i];
      const std::set<uint64_t> seen(q.seen.begin() + q.seen_offsets[i], q.seen.begin() + q.seen_offsets[i + 1]);
      const float t = q.label_scores[i];
      const float tz = seen.count(label) ? 0.0f : t;
      int64_t ahead = 0, ahead_z = 0;
      for (uint64_t j = 1; j <= max_item_id; ++j) {
        if (j == label) continue;
        double s = 0;
        for (int c = 0; c < kDim; ++c) s += q.users(static_cast<int64_t>(i), c) * rows[j][c];
        const float sf = static_cast<float>(s);
        ahead += RanksAhead(sf, j, t, label);
        ahead_z += RanksAhead(seen.count(j) ? 0.0f : sf, j, tz, label);
      }
      r.all_items.push_back(1 + ahead);
      r.seen_zeroed.push_back(1 + ahead_z);
    }
  }
  return r;
}

struct Case {
  std::string label;
  config::ShardingType sharding;
  int row_shards;
  uint64_t max_item_id;
  uint64_t rows;  // >= max_item_id + 1; rows past max_item_id are no item
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.label; }

class FullRankingTest : public ::testing::TestWithParam<Case> {};

TEST_P(FullRankingTest, EqualsBruteForceOverTheGatheredTable) {
  const Case& cs = GetParam();
  Communicator& comm = Comm();
  const config::EmbeddingConfig cfg = SgdConfig();
  const std::vector<TableSpec> tables = {ItemTable(cs.rows, cs.sharding, cs.row_shards)};
  const plan::ShardingPlan plan = MakePlan(tables, comm.size(), cfg, {1.0});
  ASSERT_EQ(plan.tables(0).type(), cs.sharding);
  ShardedEmbeddingCollection coll(tables, plan, cfg, config::MODULO, kSeed, &comm);
  SetTable(coll, comm, TestTable(cs.rows));
  if (::testing::Test::HasFatalFailure()) return;
  const MatF table = coll.GatherTable(0);

  std::vector<RankQueries> all;
  for (int r = 0; r < comm.size(); ++r) all.push_back(MakeQueries(r, table, cs.max_item_id));
  const FullRanker ranker(coll, 0, cs.max_item_id);
  const FullRanks got = ranker.Rank(comm, all[comm.rank()]);
  const FullRanks want = ReferenceRanks(all, table, cs.max_item_id);
  ASSERT_EQ(got.all_items.size(), want.all_items.size());
  ASSERT_EQ(got.seen_zeroed.size(), want.seen_zeroed.size());
  // The two protocols must differ somewhere, or the seen lists test nothing.
  EXPECT_NE(want.all_items, want.seen_zeroed);
  for (size_t i = 0; i < want.all_items.size(); ++i) {
    EXPECT_EQ(got.all_items[i], want.all_items[i]) << cs.label << ": query " << i << " (all items)";
    EXPECT_EQ(got.seen_zeroed[i], want.seen_zeroed[i]) << cs.label << ": query " << i << " (seen scored 0)";
  }
}

std::vector<Case> Cases() {
  return {
      // One row block per rank; under 1 and 2 ranks a block spans several 8192-row GEMM chunks.
      {"row_wise", config::ROW_WISE, 0, 20000, 20003},
      // Three row shards round-robin: two blocks on one rank, none on rank 3 of 4.
      {"row_wise_3_shards", config::ROW_WISE, 3, 300, 301},
      // Every rank holds the table and ranks its 1/world slice of rows.
      {"data_parallel", config::DATA_PARALLEL, 0, 300, 307},
      // One rank holds everything (two chunks), the others no rows at all.
      {"table_wise", config::TABLE_WISE, 0, 9000, 9001},
  };
}

INSTANTIATE_TEST_SUITE_P(Sharding, FullRankingTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.label; });

// Every item has the same row, so every item ties with the label in score:
// the id tie-break alone decides, and the ranks have a closed form.
TEST(FullRankingTies, IdBreaksEveryTie) {
  Communicator& comm = Comm();
  constexpr uint64_t kMaxItem = 50;
  const config::EmbeddingConfig cfg = SgdConfig();
  const std::vector<TableSpec> tables = {ItemTable(kMaxItem + 1, config::ROW_WISE)};
  ShardedEmbeddingCollection coll(tables, MakePlan(tables, comm.size(), cfg, {1.0}), cfg, config::MODULO, kSeed, &comm);
  MatF same = MatF::Zero(kMaxItem + 1, kDim);
  same.col(0).setConstant(2.0f);  // normalised: e_0
  SetTable(coll, comm, same);
  if (::testing::Test::HasFatalFailure()) return;
  // Query i of rank r: label 1 + (7r + 11i) % 50, user 0.5 e_0, so every item
  // scores 0.5. Seen lists: {label - 3, label} for odd i (the label drops to 0),
  // {label - 2} for even i (an item that was ahead of the label by id drops to 0).
  // For small labels label - k wraps past the table: no item, ignored.
  RankQueries mine;
  const int64_t n = QueriesOnRank(comm.rank());
  mine.users = MatF::Zero(n, kDim);
  mine.users.col(0).setConstant(0.5f);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t label = 1 + (7 * static_cast<uint64_t>(comm.rank()) + 11 * static_cast<uint64_t>(i)) % kMaxItem;
    mine.labels.push_back(label);
    mine.label_scores.push_back(0.5f);
    if (i % 2 == 1) {
      mine.seen.push_back(label - 3);
      mine.seen.push_back(label);
    } else {
      mine.seen.push_back(label - 2);
    }
    mine.seen_offsets.push_back(static_cast<int64_t>(mine.seen.size()));
  }
  const FullRanks got = FullRanker(coll, 0, kMaxItem).Rank(comm, mine);
  size_t k = 0;
  for (int r = 0; r < comm.size(); ++r) {
    for (int64_t i = 0; i < QueriesOnRank(r); ++i, ++k) {
      ASSERT_LT(k, got.all_items.size());
      const int64_t label = 1 + (7 * r + 11 * i) % static_cast<int64_t>(kMaxItem);
      // All items: exactly the items with smaller ids are ahead.
      EXPECT_EQ(got.all_items[k], label) << "rank " << r << " query " << i;
      // Odd i: the label scores 0, so every unseen item (0.5) is ahead, and
      // seen item label - 3 (0, smaller id) too: all 49 others. Even i: item
      // label - 2 falls behind the label (0 < 0.5).
      const int64_t want = i % 2 == 1 ? static_cast<int64_t>(kMaxItem) : (label > 2 ? label - 1 : label);
      EXPECT_EQ(got.seen_zeroed[k], want) << "rank " << r << " query " << i << " label " << label;
    }
  }
  EXPECT_EQ(k, got.all_items.size());
}

// No rank has a query: the collective still completes and returns nothing.
TEST(FullRankingEdge, NoQueriesAnywhere) {
  Communicator& comm = Comm();
  const config::EmbeddingConfig cfg = SgdConfig();
  const std::vector<TableSpec> tables = {ItemTable(40, config::ROW_WISE)};
  ShardedEmbeddingCollection coll(tables, MakePlan(tables, comm.size(), cfg, {1.0}), cfg, config::MODULO, kSeed, &comm);
  RankQueries none;
  none.users.resize(0, kDim);
  const FullRanks got = FullRanker(coll, 0, 39).Rank(comm, none);
  EXPECT_TRUE(got.all_items.empty());
  EXPECT_TRUE(got.seen_zeroed.empty());
}

// Shapes that disagree are rejected before any collective (every rank passes
// the same bad shape here, so none is left waiting).
TEST(FullRankingErrors, RejectsMismatchedQueryShapes) {
  Communicator& comm = Comm();
  const config::EmbeddingConfig cfg = SgdConfig();
  const std::vector<TableSpec> tables = {ItemTable(40, config::ROW_WISE)};
  ShardedEmbeddingCollection coll(tables, MakePlan(tables, comm.size(), cfg, {1.0}), cfg, config::MODULO, kSeed, &comm);
  const FullRanker ranker(coll, 0, 39);
  RankQueries q;
  q.users = MatF::Zero(2, kDim);
  q.labels = {1, 2};
  q.label_scores = {0.0f};  // one short
  q.seen_offsets = {0, 0, 0};
  const std::string e1 = testing::ErrorOf([&] { ranker.Rank(comm, q); });
  EXPECT_NE(e1.find("full ranking: 2 users, 1 scores, 2 labels"), std::string::npos) << e1;
  q.label_scores = {0.0f, 0.0f};
  q.users = MatF::Zero(2, kDim + 1);
  const std::string e2 = testing::ErrorOf([&] { ranker.Rank(comm, q); });
  EXPECT_NE(e2.find("users have 9 columns, the item table 8"), std::string::npos) << e2;
}

// Full ranking needs whole logical rows: compressed storage (rows shared by
// hashed ids) and column shards (a rank holds part of each row) are refused,
// naming the table, instead of ranking against the wrong rows.
TEST(FullRankingErrors, RejectsCompressedTable) {
  Communicator& comm = Comm();
  const config::EmbeddingConfig cfg = SgdConfig();
  std::vector<TableSpec> tables = {ItemTable(1000, config::ROW_WISE)};
  tables[0].compression.set_storage(config::CompressionConfig::HASH);
  tables[0].compression.set_compression_ratio(4);
  ShardedEmbeddingCollection coll(tables, MakePlan(tables, comm.size(), cfg, {1.0}), cfg, config::HASH, kSeed, &comm);
  const std::string e = testing::ErrorOf([&] { const FullRanker ranker(coll, 0, 999); });
  EXPECT_NE(e.find("table 'items': a pass over every row needs FULL storage"), std::string::npos) << e;
}

TEST(FullRankingErrors, RejectsColumnWiseTable) {
  Communicator& comm = Comm();
  const config::EmbeddingConfig cfg = SgdConfig();
  std::vector<TableSpec> tables = {ItemTable(100, config::COLUMN_WISE)};
  // Four column shards, so that every rank holds one under 1, 2 and 4 ranks:
  // OwnedRowBlocks checks only the shards a rank holds, so with fewer column
  // shards than ranks a rank without one would not throw.
  tables[0].column_shards = 4;
  ShardedEmbeddingCollection coll(tables, MakePlan(tables, comm.size(), cfg, {1.0}), cfg, config::MODULO, kSeed, &comm);
  const std::string e = testing::ErrorOf([&] { const FullRanker ranker(coll, 0, 99); });
  EXPECT_NE(e.find("table 'items' is column-wise sharded; a pass over every row needs whole rows"), std::string::npos)
      << e;
}

}  // namespace
}  // namespace shardrec
