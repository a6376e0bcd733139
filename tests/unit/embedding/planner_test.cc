// The sharding planner and table resolution: the documented rules, overrides,
// balance, and the errors for inconsistent tables.
#include <gtest/gtest.h>

#include <set>

#include "shardrec/core/error.h"
#include "shardrec/embedding/planner.h"

namespace shardrec {
namespace {

TableSpec Table(const std::string& name, uint64_t rows, int dim, int feature) {
  TableSpec t;
  t.name = name;
  t.rows = rows;
  t.dim = dim;
  t.features = {feature};
  return t;
}

config::EmbeddingConfig Cfg() {
  config::EmbeddingConfig c;
  c.set_data_parallel_max_rows(100);
  c.set_row_wise_min_rows(100000);
  return c;
}

TEST(Planner, ChoosesTypeByRowCount) {
  std::vector<TableSpec> t = {Table("small", 50, 8, 0), Table("mid", 5000, 8, 1), Table("big", 200000, 8, 2)};
  const plan::ShardingPlan p = MakePlan(t, 4, Cfg(), {1, 1, 1});
  EXPECT_EQ(p.tables(0).type(), config::DATA_PARALLEL);
  EXPECT_EQ(p.tables(0).shards_size(), 4);
  EXPECT_EQ(p.tables(1).type(), config::TABLE_WISE);
  EXPECT_EQ(p.tables(1).shards_size(), 1);
  EXPECT_EQ(p.tables(2).type(), config::ROW_WISE);
  ASSERT_EQ(p.tables(2).shards_size(), 4);
  // Contiguous, tiling row ranges in rank order.
  uint64_t next = 0;
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(p.tables(2).shards(r).rank(), r);
    EXPECT_EQ(p.tables(2).shards(r).row_begin(), next);
    next = p.tables(2).shards(r).row_end();
  }
  EXPECT_EQ(next, 200000u);
}

TEST(Planner, OneRankNeverRowShards) {
  std::vector<TableSpec> t = {Table("big", 200000, 8, 0)};
  EXPECT_EQ(MakePlan(t, 1, Cfg(), {1}).tables(0).type(), config::TABLE_WISE);
}

TEST(Planner, OverridesAndPinning) {
  std::vector<TableSpec> t = {Table("a", 50, 8, 0), Table("b", 5000, 12, 1), Table("c", 5000, 8, 2)};
  t[0].sharding = config::ROW_WISE;
  t[1].sharding = config::COLUMN_WISE;
  t[1].column_shards = 3;
  t[2].sharding = config::TABLE_WISE;
  t[2].pinned_rank = 2;
  const plan::ShardingPlan p = MakePlan(t, 3, Cfg(), {1, 1, 1});
  EXPECT_EQ(p.tables(0).type(), config::ROW_WISE);
  ASSERT_EQ(p.tables(1).shards_size(), 3);
  std::set<int> ranks;
  for (int s = 0; s < 3; ++s) {
    EXPECT_EQ(p.tables(1).shards(s).col_begin(), 4u * s);
    EXPECT_EQ(p.tables(1).shards(s).col_end(), 4u * (s + 1));
    ranks.insert(p.tables(1).shards(s).rank());
  }
  EXPECT_EQ(ranks.size(), 3u) << "column shards of one table should land on distinct ranks";
  EXPECT_EQ(p.tables(2).shards(0).rank(), 2);
}

TEST(Planner, BalancesTableWiseLoad) {
  // Eight equal tables on four ranks: two each.
  std::vector<TableSpec> t;
  for (int i = 0; i < 8; ++i) t.push_back(Table("t" + std::to_string(i), 5000, 16, i));
  const plan::ShardingPlan p = MakePlan(t, 4, Cfg(), std::vector<double>(8, 1.0));
  std::vector<int> per_rank(4, 0);
  for (const auto& tp : p.tables()) ++per_rank[tp.shards(0).rank()];
  for (int r = 0; r < 4; ++r) EXPECT_EQ(per_rank[r], 2) << "rank " << r;
}

TEST(Planner, PinnedRankBeyondWorldIsAnError) {
  std::vector<TableSpec> t = {Table("a", 5000, 8, 0)};
  t[0].pinned_rank = 5;
  try {
    MakePlan(t, 2, Cfg(), {1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("table 'a' is pinned to rank 5 but the job has 2 ranks"), std::string::npos)
        << e.what();
  }
}

TEST(Planner, ValidateRejectsGapsAndWrongWorld) {
  std::vector<TableSpec> t = {Table("a", 100, 8, 0)};
  config::EmbeddingConfig c = Cfg();
  c.set_data_parallel_max_rows(0);
  c.set_row_wise_min_rows(1);
  plan::ShardingPlan p = MakePlan(t, 2, c, {1});
  ASSERT_EQ(p.tables(0).type(), config::ROW_WISE);
  EXPECT_THROW(ValidatePlan(p, t, 3), Error);
  p.mutable_tables(0)->mutable_shards(1)->set_row_end(99);  // one row uncovered
  EXPECT_THROW(ValidatePlan(p, t, 2), Error);
}

TEST(ResolveTables, OnePerFeatureByDefault) {
  config::EmbeddingConfig c;
  c.set_default_dim(12);
  c.set_max_rows(1000);
  c.set_default_rows(77);
  const std::vector<TableSpec> t = ResolveTables(c, 3, {10, 5000, 0});
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].rows, 10u);
  EXPECT_EQ(t[1].rows, 1000u);  // capped
  EXPECT_EQ(t[2].rows, 77u);    // unknown cardinality
  EXPECT_EQ(t[1].dim, 12);
  EXPECT_EQ(t[2].name, "t2");
}

TEST(ResolveTables, ErrorsNameTheKey) {
  auto expect_error = [](const config::EmbeddingConfig& c, const std::string& text) {
    try {
      ResolveTables(c, 3, {});
      FAIL() << "expected: " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  config::EmbeddingConfig c;
  auto* a = c.add_tables();
  a->set_name("a");
  a->add_features(0);
  a->add_features(1);
  auto* b = c.add_tables();
  b->set_name("b");
  b->add_features(1);
  expect_error(c, "embedding.tables.1.features: feature 1 is already served by table 'a'");
  b->set_features(0, 2);
  b->set_dim(10);
  b->set_column_shards(4);
  expect_error(c, "embedding.tables.1.column_shards: 4 does not divide dim 10");
  b->set_column_shards(5);
  b->add_features(7);
  expect_error(c, "embedding.tables.1.features: feature 7 does not exist (the data has 3 categorical features)");
  b->clear_features();
  b->add_features(2);
  c.mutable_tables(0)->clear_features();
  c.mutable_tables(0)->add_features(0);
  expect_error(c, "embedding.tables: categorical feature 1 is served by no table");
}

}  // namespace
}  // namespace shardrec
