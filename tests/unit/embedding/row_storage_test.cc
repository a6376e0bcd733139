// Compressed row storages: which physical rows an id reads, and what a CAFE
// promotion writes. Expected regions follow the documented layout: CAFE keeps
// hot rows [0, H), then the hashed rows; multi-level splits the hashed rows into
// A (cold and medium ids) and B (medium ids' second row).
#include <gtest/gtest.h>

#include <cmath>

#include "shardrec/core/rng.h"
#include "shardrec/embedding/cafe_sizing.h"
#include "shardrec/embedding/embedding_shard.h"
#include "shardrec/embedding/row_storage.h"

namespace shardrec {
namespace {

constexpr uint64_t kIds = 100000;
constexpr int kDim = 8;

EmbeddingShard MakeShard(std::unique_ptr<RowStorage> storage, int state_per_row, config::DType dtype = config::FP32) {
  EmbeddingShard sh;
  sh.col_begin = 0;
  sh.col_end = kDim;
  sh.num_rows = static_cast<int64_t>(storage->physical_rows());
  sh.state_per_row = state_per_row;
  sh.weights.Allocate(dtype, sh.num_rows, kDim);
  sh.state.resize(static_cast<size_t>(sh.num_rows) * state_per_row);
  CounterRng rng(1, 2, 3);
  std::vector<float> row(kDim);
  for (int64_t r = 0; r < sh.num_rows; ++r) {
    for (float& w : row) w = static_cast<float>(rng.Uniform(-1, 1));
    sh.weights.Write(r, row.data());
  }
  for (size_t i = 0; i < sh.state.size(); ++i) sh.state[i] = static_cast<float>(i);
  sh.storage = std::move(storage);
  return sh;
}

std::vector<float> RowOf(const EmbeddingShard& sh, int64_t r) {
  std::vector<float> row(kDim);
  sh.weights.Read(r, row.data());
  return row;
}

config::CompressionConfig Cafe(config::CompressionConfig::Storage storage) {
  config::CompressionConfig c;
  c.set_storage(storage);
  c.set_compression_ratio(10);
  c.set_cafe_threshold(5);  // medium from 0.2 x 5 = 1
  c.set_cafe_hash_share(0.5);
  return c;
}

TEST(RowStorage, FullIsIdentityAndSmallCafeTablesStayFull) {
  EXPECT_EQ(MakeRowStorage(config::CompressionConfig(), kIds, kIds, kDim, config::MODULO, 1), nullptr);
  // A shard of a big table is compressed even when the shard alone would be small:
  // the keep-full rule is the table's, so memory does not depend on the rank count.
  auto shard = MakeRowStorage(Cafe(config::CompressionConfig::CAFE), kIds, kIds / 8, kDim, config::MODULO, 1);
  EXPECT_LT(shard->physical_rows(), kIds / 8);
  // 2000 x CR = 20000 ids or fewer: kept whole, ids folded in by the transform.
  auto small = MakeRowStorage(Cafe(config::CompressionConfig::CAFE), 20000, 20000, kDim, config::MODULO, 1);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->physical_rows(), 20000u);
  int64_t rows[2];
  ASSERT_EQ(small->Resolve(20005, rows), 1);
  EXPECT_EQ(rows[0], 5);
}

TEST(RowStorage, HashAndQrRowsAndBudgets) {
  config::CompressionConfig c;
  c.set_compression_ratio(100);
  c.set_storage(config::CompressionConfig::HASH);
  auto hash = MakeRowStorage(c, kIds, kIds, kDim, config::MODULO, 7);
  EXPECT_EQ(hash->physical_rows(), 1000u);
  c.set_storage(config::CompressionConfig::QR);
  auto qr = MakeRowStorage(c, kIds, kIds, kDim, config::MODULO, 7);
  // 2 x sqrt(1e5) = 633 <= budget 1000: Q-R spends (almost) the whole budget.
  EXPECT_LE(qr->physical_rows(), 1001u);
  EXPECT_GE(qr->physical_rows(), 990u);
  int64_t rows[2];
  std::vector<int> hits(hash->physical_rows(), 0);
  for (uint64_t id = 0; id < kIds; ++id) {
    ASSERT_EQ(hash->Resolve(id, rows), 1);
    ASSERT_GE(rows[0], 0);
    ASSERT_LT(rows[0], 1000);
    ++hits[rows[0]];
    ASSERT_EQ(qr->Resolve(id, rows), 2);
    // Distinct ids below n never share both rows: (quotient, remainder) is unique.
    ASSERT_LT(rows[0], rows[1]);
    ASSERT_LT(static_cast<uint64_t>(rows[1]), qr->physical_rows());
  }
  // The hash spreads ids evenly: every row gets 100 +- 50% of them.
  for (int h : hits) {
    EXPECT_GT(h, 50);
    EXPECT_LT(h, 150);
  }
  // Q-R: ids with the same remainder share the remainder row, and (q, r) pairs are unique.
  int64_t a[2], b[2];
  qr->Resolve(12345, a);
  qr->Resolve(54321, b);
  EXPECT_FALSE(a[0] == b[0] && a[1] == b[1]);
}

TEST(RowStorage, MultiLevelTiersReadTheRightRowsAndPromotionCopiesTheirSum) {
  const config::CompressionConfig cfg = Cafe(config::CompressionConfig::CAFE_MULTILEVEL);
  EmbeddingShard sh = MakeShard(MakeRowStorage(cfg, kIds, kIds, kDim, config::MODULO, 11), /*state_per_row=*/1);
  const CafeSizes sizes = ComputeCafeSizes(kIds, kDim, 10, 0.5);
  const int64_t hot = static_cast<int64_t>(sizes.hot_rows);
  const int64_t hash_a = std::llround(sizes.hash_rows * cfg.multilevel_hash_split());
  ASSERT_EQ(sh.storage->physical_rows(), sizes.hot_rows + sizes.hash_rows);

  const uint64_t id = 424242;
  int64_t rows[2], cold[2], medium[2];
  std::vector<int64_t> overwritten;
  // Unseen: cold, one row in A.
  ASSERT_EQ(sh.storage->Resolve(id, cold), 1);
  EXPECT_GE(cold[0], hot);
  EXPECT_LT(cold[0], hot + hash_a);
  // Score 0.5 < 1: still cold, same row.
  sh.storage->Observe({id}, {0.5f}, &sh, &overwritten);
  ASSERT_EQ(sh.storage->Resolve(id, rows), 1);
  EXPECT_EQ(rows[0], cold[0]);
  // Score 1.1 >= 0.2 T: medium, its A row plus a row in B.
  sh.storage->Observe({id}, {0.6f}, &sh, &overwritten);
  ASSERT_EQ(sh.storage->Resolve(id, medium), 2);
  EXPECT_EQ(medium[0], cold[0]);
  EXPECT_GE(medium[1], hot + hash_a);
  EXPECT_LT(static_cast<uint64_t>(medium[1]), sh.storage->physical_rows());
  std::vector<float> expect(kDim);
  for (int c = 0; c < kDim; ++c) expect[c] = RowOf(sh, medium[0])[c] + RowOf(sh, medium[1])[c];
  const float state_before = sh.state[medium[0]];
  // Score 5.1 >= T: promoted to a hot row that starts as the sum it read, with the first row's state.
  EXPECT_TRUE(overwritten.empty());
  sh.storage->Observe({id}, {4.0f}, &sh, &overwritten);
  ASSERT_EQ(sh.storage->Resolve(id, rows), 1);
  ASSERT_LT(rows[0], hot);
  ASSERT_EQ(overwritten, std::vector<int64_t>{rows[0]});
  for (int c = 0; c < kDim; ++c) EXPECT_FLOAT_EQ(RowOf(sh, rows[0])[c], expect[c]) << c;
  EXPECT_EQ(sh.state[rows[0]], state_before);
  EXPECT_EQ(sh.storage->num_hot(), 1u);
}

class CafePromotion : public ::testing::TestWithParam<config::DType> {};

// In every storage type: a 16-bit row is copied bit for bit.
TEST_P(CafePromotion, CopiesTheHashedRowTheForwardPassRead) {
  EmbeddingShard sh = MakeShard(
      MakeRowStorage(Cafe(config::CompressionConfig::CAFE), kIds, kIds, kDim, config::MODULO, 3), 0, GetParam());
  const uint64_t id = 99;
  int64_t before[2], after[2];
  ASSERT_EQ(sh.storage->Resolve(id, before), 1);
  const std::vector<float> hashed = RowOf(sh, before[0]);
  std::vector<int64_t> overwritten;
  sh.storage->Observe({id, id}, {3.0f, 3.0f}, &sh, &overwritten);  // 3 < T, then 6 >= T
  ASSERT_EQ(sh.storage->Resolve(id, after), 1);
  ASSERT_NE(after[0], before[0]);
  EXPECT_EQ(RowOf(sh, after[0]), hashed);
  // Other ids still read their hashed rows.
  int64_t other[2];
  sh.storage->Resolve(100, other);
  EXPECT_GE(other[0], static_cast<int64_t>(ComputeCafeSizes(kIds, kDim, 10, 0.5).hot_rows));
}

INSTANTIATE_TEST_SUITE_P(StorageTypes, CafePromotion, ::testing::Values(config::FP32, config::BF16, config::FP16),
                         [](const ::testing::TestParamInfo<config::DType>& p) { return config::DType_Name(p.param); });

}  // namespace
}  // namespace shardrec
