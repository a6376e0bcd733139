// RowGroups against std::stable_sort on the same occurrences: same order
// (stable), same groups, over table sizes that need 0, 1, 2 and 4 radix passes.
#include "shardrec/embedding/row_groups.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"

namespace shardrec {
namespace {

void CheckAgainstStableSort(int64_t num_rows, int64_t n, uint64_t seed, RowGroups* reused = nullptr) {
  CounterRng rng(seed, 1, 2);
  std::vector<float> grads(n);  // the gradient pointer identifies the occurrence
  std::vector<RowGrad> want;
  RowGroups fresh;
  RowGroups& groups = reused != nullptr ? *reused : fresh;
  groups.Clear();
  for (int64_t k = 0; k < n; ++k) {
    // Half the occurrences from a few hot rows, so groups have many members.
    const int64_t row = rng.Below(2) == 0 ? static_cast<int64_t>(rng.Below(std::min<int64_t>(num_rows, 7)))
                                          : static_cast<int64_t>(rng.Below(num_rows));
    groups.Add(row, &grads[k]);
    want.push_back({row, &grads[k]});
  }
  std::stable_sort(want.begin(), want.end(), [](const RowGrad& a, const RowGrad& b) { return a.row < b.row; });
  groups.Build(num_rows);
  std::vector<int64_t> distinct;
  for (const RowGrad& w : want)
    if (distinct.empty() || distinct.back() != w.row) distinct.push_back(w.row);
  ASSERT_EQ(std::vector<int64_t>(groups.rows(), groups.rows() + groups.size()), distinct) << "rows " << num_rows;
  for (int64_t k = 0; k < n; ++k) {
    ASSERT_EQ(groups.items()[k].row, want[k].row) << "rows " << num_rows << " item " << k;
    ASSERT_EQ(groups.items()[k].grad, want[k].grad) << "rows " << num_rows << " item " << k << ": not stable";
  }
  for (int64_t i = 0; i < groups.size(); ++i) {
    for (int64_t k = groups.begin(i); k < groups.begin(i + 1); ++k) ASSERT_EQ(groups.items()[k].row, groups.rows()[i]);
    ASSERT_FALSE(groups.dropped(i));
  }
  ASSERT_EQ(groups.begin(groups.size()), n);
}

TEST(RowGroups, MatchesStableSort) {
  for (int64_t rows :
       {int64_t{1}, int64_t{2}, int64_t{2047}, int64_t{2048}, int64_t{2049}, int64_t{4000037}, int64_t{1} << 40}) {
    CheckAgainstStableSort(rows, 5000, static_cast<uint64_t>(rows));
  }
}

// A step's worth of occurrences, then fewer and more again in the same
// object (its group arrays only grow; their stale tails must not show).
TEST(RowGroups, MatchesStableSortAcrossStepSizes) {
  RowGroups groups;
  for (int64_t rows : {int64_t{3}, int64_t{4000037}, int64_t{1} << 33}) {
    CheckAgainstStableSort(rows, 100003, 7, &groups);
    CheckAgainstStableSort(rows, 977, 8, &groups);
    CheckAgainstStableSort(rows, 120001, 9, &groups);
  }
}

TEST(RowGroups, ReusedAcrossSteps) {
  CheckAgainstStableSort(100000, 3000, 1);
  RowGroups groups;
  float g[3] = {1, 2, 3};
  for (int step = 0; step < 3; ++step) {
    groups.Clear();
    groups.Add(9, &g[0]);
    groups.Add(4, &g[1]);
    groups.Add(9, &g[2]);
    groups.Build(10);
    ASSERT_EQ(std::vector<int64_t>(groups.rows(), groups.rows() + groups.size()), (std::vector<int64_t>{4, 9}));
    EXPECT_EQ(groups.items()[1].grad, &g[0]);
    EXPECT_EQ(groups.items()[2].grad, &g[2]);
  }
}

TEST(RowGroups, DropMarksOnlyThatRow) {
  RowGroups groups;
  float g = 0;
  for (int64_t r : {5, 3, 8, 3}) groups.Add(r, &g);
  groups.Build(10);
  groups.Drop(8);
  groups.Drop(4);  // not touched: nothing happens
  EXPECT_FALSE(groups.dropped(0));
  EXPECT_FALSE(groups.dropped(1));
  EXPECT_TRUE(groups.dropped(2));
}

TEST(RowGroups, RowOutsideTheShardIsAnError) {
  RowGroups groups;
  float g = 0;
  groups.Add(10, &g);
  EXPECT_THROW(groups.Build(10), Error);
  groups.Clear();
  for (int k = 0; k < 50000; ++k) groups.Add(k == 31337 ? -1 : k % 10, &g);  // the threaded path checks too
  EXPECT_THROW(groups.Build(10), Error);
}

TEST(RowGroups, Empty) {
  RowGroups groups;
  groups.Build(100);
  EXPECT_EQ(groups.size(), 0);
  EXPECT_EQ(groups.begin(0), 0);
}

}  // namespace
}  // namespace shardrec
