// CAFE memory split: the full-table rule, the budget identity (hot rows at 4d+48 bytes plus hash rows at 4d
// bytes fill the 4nd/CR budget without exceeding it), the sketch fitting its 48 bytes per hot row, and the
// per-CR defaults table.
#include "shardrec/embedding/cafe_sizing.h"

#include <gtest/gtest.h>

#include <cmath>

#include "shardrec/core/error.h"
#include "shardrec/embedding/hot_sketch.h"

namespace shardrec {
namespace {

TEST(CafeSizing, SmallFieldsStayFull) {
  // 2000 * CR is the boundary, inclusive.
  CafeSizes s = ComputeCafeSizes(20000, 16, 10.0, 0.5);
  EXPECT_TRUE(s.full);
  EXPECT_EQ(s.hot_rows, 0u);
  EXPECT_EQ(s.hash_rows, 0u);
  EXPECT_EQ(s.sketch_buckets, 0u);
  EXPECT_DOUBLE_EQ(s.budget_bytes, 4.0 * 20000 * 16 / 10);
  EXPECT_DOUBLE_EQ(s.allocated_bytes, 4.0 * 20000 * 16);
  s = ComputeCafeSizes(20001, 16, 10.0, 0.5);
  EXPECT_FALSE(s.full);
  EXPECT_GT(s.hot_rows, 0u);
  EXPECT_GT(s.hash_rows, 0u);
  EXPECT_TRUE(ComputeCafeSizes(2000, 16, 1.0, 0.5).full);
  EXPECT_FALSE(ComputeCafeSizes(2001, 16, 1.0, 0.5).full);
  EXPECT_TRUE(ComputeCafeSizes(0, 16, 1.0, 0.5).full);
}

TEST(CafeSizing, KnownSplit) {
  // n = 1e7, d = 16, CR = 10, h = 0.5: budget 1e6 rows = 64e6 bytes. Hot share 32e6 bytes at 112 bytes per row
  // = 285714 rows (31999968 bytes); the hash table gets the rest: 32000032 / 64 = 500000 rows.
  const CafeSizes s = ComputeCafeSizes(10000000, 16, 10.0, 0.5);
  EXPECT_FALSE(s.full);
  EXPECT_DOUBLE_EQ(s.budget_bytes, 64e6);
  EXPECT_EQ(s.hot_rows, 285714u);
  EXPECT_EQ(s.hash_rows, 500000u);
  EXPECT_EQ(s.sketch_buckets, 285714u * 44 / 64);
}

TEST(CafeSizing, MemoryIdentityAcrossShapes) {
  int cases = 0;
  for (uint64_t n : {uint64_t{45000}, uint64_t{1000003}, uint64_t{33762577}, uint64_t{1} << 34}) {
    for (int d : {1, 8, 16, 64, 128}) {
      for (double cr : {2.0, 5.0, 7.5, 100.0, 10000.0}) {
        for (double h : {0.1, 0.3, 0.5, 0.7, 0.9}) {
          const CafeSizes s = ComputeCafeSizes(n, d, cr, h);
          if (s.full) continue;
          ++cases;
          SCOPED_TRACE(::testing::Message() << "n " << n << " d " << d << " cr " << cr << " h " << h);
          const double used = s.hot_rows * (4.0 * d + 48) + s.hash_rows * 4.0 * d;
          EXPECT_DOUBLE_EQ(s.budget_bytes, 4.0 * n * d / cr);
          EXPECT_LE(used, s.budget_bytes);
          EXPECT_GT(used, s.budget_bytes - 4.0 * d);  // less than one hash row left unused
          // The split follows h: the hot share is (1-h) of the budget up to one hot row.
          EXPECT_NEAR(s.hot_rows * (4.0 * d + 48), (1 - h) * s.budget_bytes, 4.0 * d + 48);
          EXPECT_LE(s.hot_rows, n);
          EXPECT_LE(s.hash_rows, n);
          // The sketch fits the 48 bytes per hot row it is charged (bucket array plus free list).
          ASSERT_GE(s.sketch_buckets, 1u);
          EXPECT_LE(s.sketch_buckets * 64.0 + 4.0 * s.hot_rows, 48.0 * s.hot_rows);
          EXPECT_LE(s.allocated_bytes, s.budget_bytes);
          EXPECT_NEAR(s.allocated_bytes, s.budget_bytes, 4.0 * d + 64);
        }
      }
    }
  }
  EXPECT_GT(cases, 300);
}

TEST(CafeSizing, SketchOfTheComputedSizeReallyFits) {
  const CafeSizes s = ComputeCafeSizes(5000000, 16, 20.0, 0.5);
  const HotSketch sketch(s.sketch_buckets, s.hot_rows, 30.0f, 0.99f, 1);
  // MemoryBytes adds the object itself (~100 bytes) to the two arrays.
  EXPECT_LE(static_cast<double>(sketch.MemoryBytes()), 48.0 * s.hot_rows + 256);
  EXPECT_GE(static_cast<double>(sketch.MemoryBytes()), 0.9 * 48.0 * s.hot_rows);
}

TEST(CafeSizing, HashShareOneHasNoHotRows) {
  const CafeSizes s = ComputeCafeSizes(1000000, 16, 10.0, 1.0);
  EXPECT_EQ(s.hot_rows, 0u);
  EXPECT_EQ(s.hash_rows, 100000u);
  EXPECT_EQ(s.sketch_buckets, 1u);
}

TEST(CafeSizing, RejectsBadArguments) {
  EXPECT_THROW(ComputeCafeSizes(1000000, 0, 10.0, 0.5), Error);
  EXPECT_THROW(ComputeCafeSizes(1000000, 16, 0.5, 0.5), Error);
  EXPECT_THROW(ComputeCafeSizes(1000000, 16, std::nan(""), 0.5), Error);
  EXPECT_THROW(ComputeCafeSizes(1000000, 16, 10.0, 0.0), Error);
  EXPECT_THROW(ComputeCafeSizes(1000000, 16, 10.0, 1.5), Error);
}

TEST(CafeSizing, DefaultsAtListedCrs) {
  const double crs[] = {2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
  const float ts[] = {10, 10, 20, 30, 50, 100, 200, 500, 500, 500, 500, 500};
  const double hs[] = {.7, .5, .5, .5, .3, .3, .2, .2, .2, .1, .1, .1};
  for (int i = 0; i < 12; ++i) {
    const CafeDefaults d = CafeDefaultsFor(crs[i]);
    EXPECT_EQ(d.threshold, ts[i]) << "cr " << crs[i];
    EXPECT_EQ(d.hash_share, hs[i]) << "cr " << crs[i];
  }
}

TEST(CafeSizing, DefaultsBetweenCrsTakeTheNextLargerEntry) {
  EXPECT_EQ(CafeDefaultsFor(1.0).threshold, 10.0f);  // below the table: CR 2's entry
  EXPECT_EQ(CafeDefaultsFor(1.0).hash_share, 0.7);
  EXPECT_EQ(CafeDefaultsFor(2.5).hash_share, 0.5);       // -> CR 5
  EXPECT_EQ(CafeDefaultsFor(7.0).threshold, 20.0f);      // -> CR 10
  EXPECT_EQ(CafeDefaultsFor(10.0001).threshold, 30.0f);  // -> CR 20
  EXPECT_EQ(CafeDefaultsFor(21.0).threshold, 50.0f);     // -> CR 50
  EXPECT_EQ(CafeDefaultsFor(21.0).hash_share, 0.3);
  EXPECT_EQ(CafeDefaultsFor(150.0).threshold, 200.0f);  // -> CR 200
  EXPECT_EQ(CafeDefaultsFor(150.0).hash_share, 0.2);
  EXPECT_EQ(CafeDefaultsFor(1500.0).hash_share, 0.1);  // -> CR 2000
  EXPECT_EQ(CafeDefaultsFor(1e6).threshold, 500.0f);   // above the table: CR 10000's
  EXPECT_EQ(CafeDefaultsFor(1e6).hash_share, 0.1);
  EXPECT_THROW(CafeDefaultsFor(0.99), Error);
  EXPECT_THROW(CafeDefaultsFor(std::nan("")), Error);
}

}  // namespace
}  // namespace shardrec
