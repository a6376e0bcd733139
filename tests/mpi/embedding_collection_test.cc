// The sharded embedding collection against a naive single-process reference,
// for every sharding type and sparse optimizer, under 1, 2 and 4 ranks: each
// rank's pooled outputs must equal the reference for its slice of the global
// batch, and after the update every table row must equal the reference's.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "batch_slice.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/core/error.h"
#include "shardrec/core/half_rows.h"
#include "shardrec/core/rng.h"
#include "shardrec/embedding/planner.h"
#include "shardrec/embedding/sharded_collection.h"

namespace shardrec {
namespace {

Communicator& Comm() {
  static std::unique_ptr<Communicator> comm = MakeMpiCommunicator();
  return *comm;
}

constexpr int kGlobalBatch = 12;  // divisible by 1, 2 and 4
constexpr int kFeatures = 3;
constexpr uint64_t kSeed = 99;

// Global batch: bag lengths 0..4, raw 64-bit ids; deterministic per sample.
Batch MakeGlobalBatch(int step) {
  Batch b;
  b.batch_size = kGlobalBatch;
  b.sparse.resize(kFeatures);
  for (int i = 0; i < kGlobalBatch; ++i) {
    for (int f = 0; f < kFeatures; ++f) {
      CounterRng rng(1000 + step, f, i);
      const int len = static_cast<int>(rng.Below(5));
      b.sparse[f].lengths.push_back(len);
      for (int k = 0; k < len; ++k) b.sparse[f].values.push_back(rng.NextU64() % 50);  // repeats are likely
    }
  }
  return b;
}

// dLoss/d(pooled output) of global sample i, feature f, column c.
float OutGrad(int step, int i, int f, int c) {
  return static_cast<float>(std::sin(1.3 * i + 0.7 * f + 0.31 * c + step));
}

// The naive reference: full tables, loops.
struct Reference {
  std::vector<TableSpec> tables;
  std::vector<MatF> weights;
  std::vector<MatF> state;                                   // rows x state floats, one block per column range
  std::vector<std::vector<std::pair<int, int>>> col_ranges;  // [table] column shards (whole row if not column-wise)
  config::EmbeddingConfig cfg;
  config::IdTransform transform;

  int TableOf(int f) const {
    for (size_t t = 0; t < tables.size(); ++t)
      for (int g : tables[t].features)
        if (g == f) return static_cast<int>(t);
    return -1;
  }

  Reference(const std::vector<TableSpec>& ts, const plan::ShardingPlan& plan, const config::EmbeddingConfig& c,
            config::IdTransform tr)
      : tables(ts), cfg(c), transform(tr) {
    SparseOptimizer opt(cfg.optimizer());
    for (size_t ti = 0; ti < tables.size(); ++ti) {
      const TableSpec& t = tables[ti];
      std::vector<std::pair<int, int>> ranges = {{0, t.dim}};
      if (plan.tables(ti).type() == config::COLUMN_WISE) {
        ranges.clear();
        for (const plan::Shard& s : plan.tables(ti).shards()) ranges.push_back({s.col_begin(), s.col_end()});
      }
      col_ranges.push_back(ranges);
      MatF w(t.rows, t.dim);
      for (uint64_t r = 0; r < t.rows; ++r)
        InitRow(kSeed, t.name, r, t.dim, 0, t.dim, static_cast<float>(std::sqrt(1.0 / t.rows)), w.row(r).data());
      weights.push_back(w);
      state.push_back(MatF::Constant(
          t.rows, std::max(1, opt.StateFloatsPerRow(t.dim) * static_cast<int>(ranges.size())), opt.InitialState()));
    }
  }

  std::vector<MatF> Forward(const Batch& g) const {
    std::vector<MatF> out;
    for (int f = 0; f < kFeatures; ++f) {
      const TableSpec& t = tables[TableOf(f)];
      MatF o = MatF::Zero(g.batch_size, t.dim);
      size_t k = 0;
      for (int64_t i = 0; i < g.batch_size; ++i) {
        const int len = g.sparse[f].lengths[i];
        for (int j = 0; j < len; ++j, ++k)
          o.row(i) += weights[TableOf(f)].row(MapIdToRow(g.sparse[f].values[k], t.rows, transform));
        if (t.pooling == config::MEAN && len > 0) o.row(i) /= static_cast<float>(len);
      }
      out.push_back(o);
    }
    return out;
  }

  void BackwardAndUpdate(const Batch& g, int step) {
    SparseOptimizer opt(cfg.optimizer());
    const kernels::SparseHyper h = opt.Hyper(step);
    for (size_t t = 0; t < tables.size(); ++t) {
      std::map<int64_t, std::vector<float>> row_grad;
      for (int f : tables[t].features) {
        size_t k = 0;
        for (int64_t i = 0; i < g.batch_size; ++i) {
          const int len = g.sparse[f].lengths[i];
          for (int j = 0; j < len; ++j, ++k) {
            auto& acc = row_grad[MapIdToRow(g.sparse[f].values[k], tables[t].rows, transform)];
            acc.resize(tables[t].dim, 0.0f);
            for (int c = 0; c < tables[t].dim; ++c) {
              float gr = OutGrad(step, static_cast<int>(i), f, c);
              if (tables[t].pooling == config::MEAN) gr /= static_cast<float>(len);
              acc[c] += gr;
            }
          }
        }
      }
      for (auto& [row, grad] : row_grad) {
        // Column shards keep their own optimizer state (row-wise Adagrad: one
        // accumulator per row per column shard); apply per column range.
        float* st = state[t].row(row).data();
        for (auto [c0, c1] : col_ranges[t]) {
          opt.Apply(h, weights[t].row(row).data() + c0, st, grad.data() + c0, c1 - c0);
          st += opt.StateFloatsPerRow(c1 - c0);
        }
      }
    }
  }
};

// t0 serves features 0 and 2 (shared table, SUM); t1 serves feature 1 (MEAN). Odd sizes.
std::vector<TableSpec> TwoTables(config::ShardingType t0, config::ShardingType t1, config::DType storage) {
  std::vector<TableSpec> tables(2);
  tables[0].name = "t0";
  tables[0].rows = 37;
  tables[0].dim = 5;
  tables[0].features = {0, 2};
  tables[0].sharding = t0;
  tables[1].name = "t1";
  tables[1].rows = 11;
  tables[1].dim = 6;
  tables[1].pooling = config::MEAN;
  tables[1].features = {1};
  tables[1].sharding = t1;
  if (t0 == config::COLUMN_WISE) tables[0].column_shards = 5;
  if (t1 == config::COLUMN_WISE) tables[1].column_shards = 3;
  for (TableSpec& t : tables) t.storage_dtype = storage;
  return tables;
}

struct Case {
  std::string label;
  config::ShardingType t0, t1;
  config::SparseOptimizerType opt;
};

class CollectionTest : public ::testing::TestWithParam<Case> {};

TEST_P(CollectionTest, EqualsSingleProcessReference) {
  const Case& cs = GetParam();
  Communicator& comm = Comm();
  config::EmbeddingConfig cfg;
  cfg.mutable_optimizer()->set_type(cs.opt);
  cfg.mutable_optimizer()->set_lr(0.1);
  const std::vector<TableSpec> tables = TwoTables(cs.t0, cs.t1, config::FP32);
  const plan::ShardingPlan plan = MakePlan(tables, comm.size(), cfg, {2.0, 2.0, 2.0});
  for (const plan::TablePlan& tp : plan.tables()) {
    ASSERT_EQ(tp.type(), tp.name() == "t0" ? cs.t0 : cs.t1);
  }
  ShardedEmbeddingCollection coll(tables, plan, cfg, config::HASH, kSeed, &comm);
  Reference ref(tables, plan, cfg, config::HASH);

  for (int step = 0; step < 3; ++step) {
    const Batch global = MakeGlobalBatch(step);
    const Batch local = testing::SliceGlobalBatch(global, comm.rank(), comm.size());
    std::vector<MatF> out;
    coll.Forward(local, &out, /*training=*/true);
    const std::vector<MatF> want = ref.Forward(global);
    for (int f = 0; f < kFeatures; ++f) {
      ASSERT_EQ(out[f].rows(), local.batch_size);
      for (int64_t i = 0; i < local.batch_size; ++i)
        for (int c = 0; c < out[f].cols(); ++c)
          ASSERT_NEAR(out[f](i, c), want[f](local.first_sample + i, c), 1e-6)
              << cs.label << " step " << step << " feature " << f << " sample " << i << " col " << c;
    }
    std::vector<MatF> grads(kFeatures);
    for (int f = 0; f < kFeatures; ++f) {
      grads[f].resize(local.batch_size, coll.feature_dim(f));
      for (int64_t i = 0; i < local.batch_size; ++i)
        for (int c = 0; c < grads[f].cols(); ++c)
          grads[f](i, c) = OutGrad(step, static_cast<int>(local.first_sample + i), f, c);
    }
    coll.BackwardAndUpdate(grads, step);
    ref.BackwardAndUpdate(global, step);
    for (int t = 0; t < 2; ++t) {
      const MatF got = coll.GatherTable(t);
      const float err = (got - ref.weights[t]).cwiseAbs().maxCoeff();
      ASSERT_LT(err, 2e-6) << cs.label << " step " << step << " table " << t;
    }
  }
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  const std::pair<config::ShardingType, const char*> types[] = {{config::TABLE_WISE, "table"},
                                                                {config::ROW_WISE, "row"},
                                                                {config::COLUMN_WISE, "column"},
                                                                {config::DATA_PARALLEL, "dp"}};
  const std::pair<config::SparseOptimizerType, const char*> opts[] = {
      {config::SPARSE_SGD, "sgd"}, {config::ROWWISE_ADAGRAD, "adagrad"}, {config::SPARSE_ADAM, "adam"}};
  for (auto [t, tn] : types)
    for (auto [o, on] : opts) cases.push_back({std::string(tn) + "_" + on, t, t, o});
  // Mixed plans: two different types in one collection.
  cases.push_back({"row_and_dp_adam", config::ROW_WISE, config::DATA_PARALLEL, config::SPARSE_ADAM});
  cases.push_back({"table_and_column_sgd", config::TABLE_WISE, config::COLUMN_WISE, config::SPARSE_SGD});
  cases.push_back({"column_and_row_adam", config::COLUMN_WISE, config::ROW_WISE, config::SPARSE_ADAM});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Sharding, CollectionTest, ::testing::ValuesIn(AllCases()),
                         [](const auto& info) { return info.param.label; });

// 16-bit row storage: sharded over this run's ranks, the tables are bitwise the
// ones a single process gets (stochastic rounding is keyed by logical row and
// column, not by owner); every stored value is a value of the type; and the
// rows stay within the type's rounding of the fp32 reference.
struct StorageCase {
  std::string label;
  config::DType dtype;
  config::ShardingType sharding;
  config::SparseOptimizerType opt;
};

class StorageTypeTest : public ::testing::TestWithParam<StorageCase> {};

TEST_P(StorageTypeTest, ShardedEqualsSingleProcessAndTracksFp32) {
  const StorageCase& cs = GetParam();
  Communicator& comm = Comm();
  std::unique_ptr<Communicator> alone = MakeLocalCommunicator();
  config::EmbeddingConfig cfg;
  cfg.mutable_optimizer()->set_type(cs.opt);
  cfg.mutable_optimizer()->set_lr(0.1);
  const std::vector<TableSpec> tables = TwoTables(cs.sharding, config::DATA_PARALLEL, cs.dtype);
  const std::vector<double> lookups = {2.0, 2.0, 2.0};
  ShardedEmbeddingCollection sharded(tables, MakePlan(tables, comm.size(), cfg, lookups), cfg, config::HASH, kSeed,
                                     &comm);
  ShardedEmbeddingCollection single(tables, MakePlan(tables, 1, cfg, lookups), cfg, config::HASH, kSeed, alone.get());
  Reference ref(tables, MakePlan(tables, comm.size(), cfg, lookups), cfg, config::HASH);
  const HalfType half = cs.dtype == config::BF16 ? HalfType::kBf16 : HalfType::kFp16;
  const double unit = cs.dtype == config::BF16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
  for (int step = 0; step < 4; ++step) {
    const Batch global = MakeGlobalBatch(step);
    const Batch local = testing::SliceGlobalBatch(global, comm.rank(), comm.size());
    std::vector<MatF> out, out_single;
    sharded.Forward(local, &out, /*training=*/true);
    single.Forward(global, &out_single, /*training=*/true);
    std::vector<MatF> grads(kFeatures), grads_single(kFeatures);
    for (int f = 0; f < kFeatures; ++f) {
      ASSERT_EQ(out[f], out_single[f].middleRows(local.first_sample, local.batch_size)) << cs.label << " f " << f;
      grads[f].resize(local.batch_size, sharded.feature_dim(f));
      grads_single[f].resize(global.batch_size, sharded.feature_dim(f));
      for (int64_t i = 0; i < global.batch_size; ++i)
        for (int c = 0; c < grads[f].cols(); ++c) grads_single[f](i, c) = OutGrad(step, static_cast<int>(i), f, c);
      grads[f] = grads_single[f].middleRows(local.first_sample, local.batch_size);
    }
    sharded.BackwardAndUpdate(grads, step);
    single.BackwardAndUpdate(grads_single, step);
    ref.BackwardAndUpdate(global, step);
    for (int t = 0; t < 2; ++t) {
      const MatF got = sharded.GatherTable(t), want = single.GatherTable(t);
      ASSERT_EQ(got, want) << cs.label << " step " << step << " table " << t;
      MatF rounded(got.rows(), got.cols());
      RoundRow(half, got.data(), got.size(), rounded.data());
      ASSERT_EQ(rounded, got) << cs.label << ": a stored value is not a " << config::DType_Name(cs.dtype) << " value";
      // Each step adds at most one rounding of the row's magnitude (~the init scale).
      const double scale = ref.weights[t].cwiseAbs().maxCoeff();
      EXPECT_LT((got - ref.weights[t]).cwiseAbs().maxCoeff(), (step + 1) * 2 * unit * scale + 1e-7)
          << cs.label << " step " << step << " table " << t;
    }
  }
  // Two bytes per stored value, four per optimizer-state float.
  const SparseOptimizer opt(cfg.optimizer());
  size_t state_floats = 0;
  const plan::ShardingPlan single_plan = MakePlan(tables, 1, cfg, lookups);
  for (const plan::TablePlan& tp : single_plan.tables())
    for (const plan::Shard& sh : tp.shards())
      state_floats += (sh.row_end() - sh.row_begin()) * opt.StateFloatsPerRow(sh.col_end() - sh.col_begin());
  EXPECT_EQ(single.LocalBytes(), 2 * (37 * 5 + 11 * 6) + 4 * state_floats);
}

std::vector<StorageCase> StorageCases() {
  std::vector<StorageCase> cases;
  for (auto [d, dn] : {std::pair{config::BF16, "bf16"}, std::pair{config::FP16, "fp16"}}) {
    cases.push_back({std::string(dn) + "_row_adagrad", d, config::ROW_WISE, config::ROWWISE_ADAGRAD});
    cases.push_back({std::string(dn) + "_column_adam", d, config::COLUMN_WISE, config::SPARSE_ADAM});
    cases.push_back({std::string(dn) + "_table_sgd", d, config::TABLE_WISE, config::SPARSE_SGD});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Storage, StorageTypeTest, ::testing::ValuesIn(StorageCases()),
                         [](const auto& info) { return info.param.label; });

TEST(CollectionErrors, RejectsMismatchedBatch) {
  Communicator& comm = Comm();
  config::EmbeddingConfig cfg;
  std::vector<TableSpec> tables(1);
  tables[0].name = "t";
  tables[0].rows = 10;
  tables[0].dim = 4;
  tables[0].features = {0};
  ShardedEmbeddingCollection coll(tables, MakePlan(tables, comm.size(), cfg, {1.0}), cfg, config::HASH, 1, &comm);
  Batch b;
  b.batch_size = 2;
  b.sparse.resize(2);  // two features, collection has one
  std::vector<MatF> out;
  try {
    coll.Forward(b, &out, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch has 2 categorical features, the embedding collection 1"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace shardrec
