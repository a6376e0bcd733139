// Compressed tables (hash, Q-R, CAFE, multi-level CAFE) in the sharded
// collection: under 1, 2 and 4 ranks, every rank's pooled outputs and every
// table's stored rows after each step equal those of the same collection run
// in one process (a local communicator) on the whole global batch. For row-wise
// tables the plan fixes four id partitions, so one process holds all four.
#include <gtest/gtest.h>

#include <cmath>

#include "batch_slice.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/core/rng.h"
#include "shardrec/embedding/planner.h"
#include "shardrec/embedding/sharded_collection.h"

namespace shardrec {
namespace {

Communicator& Comm() {
  static std::unique_ptr<Communicator> comm = MakeMpiCommunicator();
  return *comm;
}

constexpr int kGlobalBatch = 64;
constexpr uint64_t kIds = 60000;  // > 2000 x CR, so CAFE does not keep the table full

// Zipf-like ids (a few ids dominate, so the sketch promotes some), bags of 1..3,
// two features; deterministic per (step, sample).
Batch GlobalBatch(int step) {
  Batch b;
  b.batch_size = kGlobalBatch;
  b.sparse.resize(2);
  for (int i = 0; i < kGlobalBatch; ++i) {
    for (int f = 0; f < 2; ++f) {
      CounterRng rng(77 + step, f, i);
      const int len = 1 + static_cast<int>(rng.Below(3));
      b.sparse[f].lengths.push_back(len);
      for (int k = 0; k < len; ++k) {
        const double u = rng.Uniform();
        b.sparse[f].values.push_back(static_cast<uint64_t>(std::pow(static_cast<double>(kIds), u * u * u)) * 7919 + f);
      }
    }
  }
  return b;
}

float OutGrad(int step, int64_t i, int f, int c) {
  return static_cast<float>(std::cos(0.37 * i + 1.1 * f + 0.23 * c + step) * (1 + i % 3));
}

struct Case {
  std::string label;
  config::CompressionConfig::Storage storage;
  config::ShardingType sharding;
  config::SparseOptimizerType opt;
  config::Importance importance;
};

class CompressedCollectionTest : public ::testing::TestWithParam<Case> {};

TEST_P(CompressedCollectionTest, ShardedEqualsOneProcess) {
  const Case& cs = GetParam();
  Communicator& comm = Comm();
  std::unique_ptr<Communicator> local = MakeLocalCommunicator();
  config::EmbeddingConfig cfg;
  cfg.mutable_optimizer()->set_type(cs.opt);
  cfg.mutable_optimizer()->set_lr(0.05);
  config::CompressionConfig cc;
  cc.set_storage(cs.storage);
  cc.set_compression_ratio(5);
  cc.set_cafe_threshold(3);  // low, so a 64-sample batch promotes ids within a few steps
  cc.set_importance(cs.importance);
  std::vector<TableSpec> tables(2);
  for (int t = 0; t < 2; ++t) {
    tables[t].name = "t" + std::to_string(t);
    tables[t].rows = kIds;
    tables[t].dim = t == 0 ? 8 : 5;
    tables[t].features = {t};
    tables[t].sharding = cs.sharding;
    tables[t].row_shards = cs.sharding == config::ROW_WISE ? 4 : 0;
    tables[t].compression = cc;
  }
  tables[1].pooling = config::MEAN;
  ShardedEmbeddingCollection coll(tables, MakePlan(tables, comm.size(), cfg, {2, 2}), cfg, config::HASH, 5, &comm);
  ShardedEmbeddingCollection ref(tables, MakePlan(tables, 1, cfg, {2, 2}), cfg, config::HASH, 5, local.get());
  for (int step = 0; step < 8; ++step) {
    const Batch global = GlobalBatch(step);
    const Batch mine = testing::SliceGlobalBatch(global, comm.rank(), comm.size());
    std::vector<MatF> out, want;
    coll.Forward(mine, &out, true);
    ref.Forward(global, &want, true);
    for (int f = 0; f < 2; ++f) {
      for (int64_t i = 0; i < mine.batch_size; ++i)
        for (int c = 0; c < out[f].cols(); ++c)
          ASSERT_NEAR(out[f](i, c), want[f](mine.first_sample + i, c), 1e-6)
              << cs.label << " step " << step << " feature " << f << " sample " << i;
    }
    std::vector<MatF> g(2), g_ref(2);
    for (int f = 0; f < 2; ++f) {
      g[f].resize(mine.batch_size, coll.feature_dim(f));
      g_ref[f].resize(global.batch_size, coll.feature_dim(f));
      for (int64_t i = 0; i < global.batch_size; ++i)
        for (int c = 0; c < g_ref[f].cols(); ++c) g_ref[f](i, c) = OutGrad(step, i, f, c);
      g[f] = g_ref[f].middleRows(mine.first_sample, mine.batch_size);
    }
    coll.BackwardAndUpdate(g, step);
    ref.BackwardAndUpdate(g_ref, step);
    for (int t = 0; t < 2; ++t) {
      const MatF a = coll.GatherTable(t), b = ref.GatherTable(t);
      ASSERT_EQ(a.rows(), b.rows());
      ASSERT_LT((a - b).cwiseAbs().maxCoeff(), 1e-6) << cs.label << " step " << step << " table " << t;
    }
  }
  // The run must have exercised promotions, or it proves little about CAFE.
  if (cs.storage == config::CompressionConfig::CAFE || cs.storage == config::CompressionConfig::CAFE_MULTILEVEL) {
    for (int t = 0; t < 2; ++t) {
      const int64_t hot = coll.HotIds(t);
      EXPECT_GT(hot, 0) << cs.label << " table " << t;
      EXPECT_EQ(hot, ref.HotIds(t));
    }
  }
}

std::vector<Case> Cases() {
  return {
      {"hash_table_sgd", config::CompressionConfig::HASH, config::TABLE_WISE, config::SPARSE_SGD,
       config::GRADIENT_NORM},
      {"qr_row_adam", config::CompressionConfig::QR, config::ROW_WISE, config::SPARSE_ADAM, config::GRADIENT_NORM},
      {"cafe_table_adagrad", config::CompressionConfig::CAFE, config::TABLE_WISE, config::ROWWISE_ADAGRAD,
       config::GRADIENT_NORM},
      {"cafe_row_adagrad", config::CompressionConfig::CAFE, config::ROW_WISE, config::ROWWISE_ADAGRAD,
       config::GRADIENT_NORM},
      {"cafe_row_sgd_frequency", config::CompressionConfig::CAFE, config::ROW_WISE, config::SPARSE_SGD,
       config::FREQUENCY},
      {"multilevel_row_adam", config::CompressionConfig::CAFE_MULTILEVEL, config::ROW_WISE, config::SPARSE_ADAM,
       config::GRADIENT_NORM},
      {"multilevel_table_sgd", config::CompressionConfig::CAFE_MULTILEVEL, config::TABLE_WISE, config::SPARSE_SGD,
       config::FREQUENCY},
  };
}

INSTANTIATE_TEST_SUITE_P(Storage, CompressedCollectionTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace shardrec
