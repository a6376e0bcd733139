// HR@K, NDCG@K and MRR on rankings computed by hand.
#include "shardrec/core/ranking_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace shardrec {
namespace {

TEST(RankingMetrics, HandComputed) {
  // Ranks 1, 3, 10, 11, 250.
  const RankingMetrics m = RankingFromRanks({1, 3, 10, 11, 250}, {1, 10, 200});
  ASSERT_EQ(m.users, 5u);
  EXPECT_DOUBLE_EQ(m.hit_rate[0], 1.0 / 5);
  EXPECT_DOUBLE_EQ(m.hit_rate[1], 3.0 / 5);
  EXPECT_DOUBLE_EQ(m.hit_rate[2], 4.0 / 5);
  EXPECT_DOUBLE_EQ(m.ndcg[0], 1.0 / 5);                                    // 1/log2(2) = 1
  EXPECT_NEAR(m.ndcg[1], (1.0 + 0.5 + 1.0 / std::log2(11.0)) / 5, 1e-15);  // 1/log2(4) = 0.5
  EXPECT_NEAR(m.ndcg[2], (1.0 + 0.5 + 1.0 / std::log2(11.0) + 1.0 / std::log2(12.0)) / 5, 1e-15);
  EXPECT_NEAR(m.mrr, (1.0 + 1.0 / 3 + 0.1 + 1.0 / 11 + 1.0 / 250) / 5, 1e-15);
}

TEST(RankingMetrics, TiesBreakBySmallerIdAndNeverBySelf) {
  EXPECT_TRUE(RanksAhead(0.5f, 9, 0.4f, 3));
  EXPECT_FALSE(RanksAhead(0.3f, 1, 0.4f, 3));
  EXPECT_TRUE(RanksAhead(0.4f, 2, 0.4f, 3));
  EXPECT_FALSE(RanksAhead(0.4f, 4, 0.4f, 3));
  EXPECT_FALSE(RanksAhead(0.4f, 3, 0.4f, 3));
}

TEST(RankingMetrics, EmptyAndInvalid) {
  EXPECT_EQ(RankingFromRanks({}, {10}).users, 0u);
  EXPECT_THROW(RankingFromRanks({0}, {10}), std::exception);
}

}  // namespace
}  // namespace shardrec
