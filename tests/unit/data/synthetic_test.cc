#include "shardrec/data/synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "data_test_util.h"
#include "shardrec/core/error.h"
#include "shardrec/core/metrics.h"
#include "shardrec/core/timer.h"

namespace shardrec {
namespace {

using testing::ExpectRankUnionMatches;
using testing::FlatSample;
using testing::ReadSteps;

config::SyntheticConfig SmallConfig() {
  config::SyntheticConfig c;
  c.set_num_train_samples(100);
  c.set_num_eval_samples(50);
  for (uint64_t card : {10u, 1000u, 7u, 100000u, 50u, 3u}) c.add_cardinalities(card);
  for (uint32_t m : {1u, 4u, 1u, 2u, 1u, 3u}) c.add_multi_hot_max(m);
  c.set_num_dense(5);
  c.set_seed(99);
  return c;
}

std::unique_ptr<SampleSource> Synth(const config::SyntheticConfig& c, int rank, int world, uint64_t g, bool eval,
                                    uint64_t start_step = 0) {
  SliceSpec s;
  s.rank = rank;
  s.world = world;
  s.global_batch = g;
  s.start_step = start_step;
  s.repeat = !eval;
  return std::make_unique<SyntheticSource>(c, s, eval);
}

FlatSample FromModel(const SyntheticModel& m, uint64_t index, int64_t position) {
  SyntheticSample s;
  m.Generate(index, &s);
  FlatSample f;
  f.position = position;
  f.label = s.label;
  f.dense = s.dense;
  for (int i = 0; i < m.num_sparse(); ++i)
    f.bags.emplace_back(s.ids.begin() + s.offsets[i], s.ids.begin() + s.offsets[i + 1]);
  return f;
}

TEST(Synthetic, DefaultCardinalitiesFollowTheSchema) {
  const auto c = DefaultSyntheticCardinalities();
  // 10 * 10^(6k/25), k = 0..25, two significant digits (the config layer's list).
  const std::vector<uint64_t> expected = {10,     17,     30,     52,      91,      160,     280,     480,     830,
                                          1400,   2500,   4400,   7600,    13000,   23000,   40000,   69000,   120000,
                                          210000, 360000, 630000, 1100000, 1900000, 3300000, 5800000, 10000000};
  EXPECT_EQ(c, expected);
  config::SyntheticConfig empty;
  EXPECT_EQ(SyntheticModel(empty).cardinalities(), expected);
}

TEST(Synthetic, SampleIsAPureFunctionOfItsIndex) {
  const auto cfg = SmallConfig();
  const SyntheticModel model(cfg);
  // Rank 2 of 4 at start_step 3 (global batch 8) starts at position 3*8 + 4 = 28.
  auto src = Synth(cfg, 2, 4, 8, false, 3);
  Batch b;
  ASSERT_TRUE(src->Next(&b));
  EXPECT_EQ(b.first_sample, 28);
  EXPECT_EQ(b.batch_size, 2);
  const auto rows = testing::Flatten(b);
  EXPECT_EQ(rows[0], FromModel(model, 28, 28));
  EXPECT_EQ(rows[1], FromModel(model, 29, 29));
  // The same sample from a single-rank stream read from the start.
  auto single = Synth(cfg, 0, 1, 8, false);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(single->Next(&b));
  ASSERT_TRUE(single->Next(&b));
  EXPECT_EQ(testing::Flatten(b)[4], rows[0]);
  // Training wraps: position 100 + k is sample k; eval samples are different indices.
  auto wrapped = Synth(cfg, 0, 1, 25, false, 4);
  ASSERT_TRUE(wrapped->Next(&b));
  EXPECT_EQ(b.first_sample, 100);
  auto first = testing::Flatten(b)[0];
  first.position = 0;
  EXPECT_EQ(first, FromModel(model, 0, 0));
  auto eval = Synth(cfg, 0, 1, 25, true);
  ASSERT_TRUE(eval->Next(&b));
  auto e0 = testing::Flatten(b)[0];
  EXPECT_EQ(e0.position, 0);
  e0.position = 100;
  EXPECT_EQ(e0, FromModel(model, 100, 100));  // eval j is index num_train + j
  // Another seed changes the data.
  auto other = cfg;
  other.set_seed(100);
  EXPECT_FALSE(FromModel(SyntheticModel(other), 28, 28) == rows[0]);
}

TEST(Synthetic, RankSlicesUnionToTheSingleStream) {
  const auto cfg = SmallConfig();
  std::vector<std::vector<FlatSample>> single;
  ExpectRankUnionMatches([&](int r, int w) { return Synth(cfg, r, w, 16, false); }, 20, &single);
  ASSERT_EQ(single.size(), 20u);
  ExpectRankUnionMatches([&](int r, int w) { return Synth(cfg, r, w, 16, true); }, 100, &single);
  ASSERT_EQ(single.size(), 4u);  // 50 eval samples: 16, 16, 16, 2
  EXPECT_EQ(single.back().size(), 2u);
}

TEST(Synthetic, StartStepEqualsReadingAndDiscarding) {
  const auto cfg = SmallConfig();
  for (uint64_t start : {uint64_t{1}, uint64_t{9}, uint64_t{40}}) {
    auto skipped = Synth(cfg, 1, 2, 12, false, start);
    auto read = Synth(cfg, 1, 2, 12, false);
    Batch b;
    for (uint64_t i = 0; i < start; ++i) ASSERT_TRUE(read->Next(&b));
    EXPECT_EQ(ReadSteps(skipped.get(), 15), ReadSteps(read.get(), 15)) << "start " << start;
  }
}

TEST(Synthetic, IdsInRangeAndBagLengthsWithinMultiHotMax) {
  const auto cfg = SmallConfig();
  auto src = Synth(cfg, 0, 1, 100, false);
  EXPECT_EQ(src->cardinalities(), (std::vector<uint64_t>{10, 1000, 7, 100000, 50, 3}));
  EXPECT_EQ(src->num_dense(), 5);
  EXPECT_EQ(src->num_sparse(), 6);
  Batch b;
  ASSERT_TRUE(src->Next(&b));
  ASSERT_EQ(b.batch_size, 100);
  std::vector<std::set<int32_t>> seen_lengths(6);
  for (int f = 0; f < 6; ++f) {
    for (int32_t len : b.sparse[f].lengths) {
      EXPECT_GE(len, 1);
      EXPECT_LE(len, static_cast<int32_t>(cfg.multi_hot_max(f)));
      seen_lengths[f].insert(len);
    }
    for (uint64_t id : b.sparse[f].values) EXPECT_LT(id, cfg.cardinalities(f));
  }
  EXPECT_EQ(seen_lengths[1].size(), 4u);  // 1..4 all occur in 100 samples
  EXPECT_EQ(seen_lengths[0].size(), 1u);
  for (int64_t r = 0; r < b.batch_size; ++r) {
    EXPECT_TRUE(b.labels[r] == 0.0f || b.labels[r] == 1.0f);
    for (int d = 0; d < 5; ++d) {
      EXPECT_GE(b.dense(r, d), 0.0f);
      EXPECT_TRUE(std::isfinite(b.dense(r, d)));
    }
  }
}

TEST(Synthetic, ScramblerIsABijection) {
  for (uint64_t n : {1u, 2u, 7u, 64u, 1000u, 4097u, 65537u}) {
    IdScrambler s(n, 12345);
    std::vector<bool> hit(n, false);
    for (uint64_t x = 0; x < n; ++x) {
      const uint64_t y = s(x);
      ASSERT_LT(y, n);
      ASSERT_FALSE(hit[y]) << "n " << n << ": " << y << " hit twice";
      hit[y] = true;
    }
  }
  IdScrambler big(10000000, 1);
  EXPECT_NE(big(0), 0u);  // the hottest id is not 0
  EXPECT_LT(big(9999999), 10000000u);
}

// Probability of rank 0 under Zipf(n, s): 1 / sum_k k^-s.
double TopProbability(uint64_t n, double s) {
  double h = 0.0;
  for (uint64_t k = n; k >= 1; --k) h += std::pow(static_cast<double>(k), -s);
  return 1.0 / h;
}

TEST(Synthetic, ZipfSamplerMatchesTheLaw) {
  const int kDraws = 400000;
  for (double s : {0.5, 1.0, 1.05, 1.5}) {
    const uint64_t n = 1000;
    ZipfSampler z(n, s);
    CounterRng rng(7, 1, static_cast<uint64_t>(s * 100));
    std::vector<int> count(n, 0);
    for (int i = 0; i < kDraws; ++i) {
      const uint64_t k = z.Sample(&rng);
      ASSERT_LT(k, n);
      ++count[k];
    }
    const double p0 = TopProbability(n, s);
    EXPECT_NEAR(count[0] / static_cast<double>(kDraws), p0, 4 * std::sqrt(p0 / kDraws)) << "s " << s;
    // Ratio of the two hottest ranks is 2^s.
    EXPECT_NEAR(static_cast<double>(count[0]) / count[1], std::pow(2.0, s), 0.06 * std::pow(2.0, s)) << "s " << s;
    EXPECT_NEAR(static_cast<double>(count[0]) / count[9], std::pow(10.0, s), 0.12 * std::pow(10.0, s)) << "s " << s;
  }
  // Uniform at s = 0.
  ZipfSampler u(4, 0.0);
  CounterRng rng(1);
  std::vector<int> c(4, 0);
  for (int i = 0; i < 40000; ++i) ++c[u.Sample(&rng)];
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(c[k], 10000, 400);
}

TEST(Synthetic, ZipfIsCheapAtTenMillionIds) {
  Timer t;
  ZipfSampler z(10000000, 1.05);
  CounterRng rng(3);
  uint64_t top = 0;
  const int kDraws = 200000;
  for (int i = 0; i < kDraws; ++i) top += z.Sample(&rng) == 0;
  EXPECT_LT(t.Seconds(), 2.0);  // no per-id table or setup
  const double p0 = TopProbability(10000000, 1.05);
  EXPECT_NEAR(top / static_cast<double>(kDraws), p0, 4 * std::sqrt(p0 / kDraws));
}

TEST(Synthetic, GeneratedIdFrequenciesFollowZipfAfterScrambling) {
  config::SyntheticConfig cfg;
  cfg.set_num_train_samples(100000);
  cfg.add_cardinalities(1000);
  cfg.set_num_dense(0);
  cfg.set_zipf_exponent(1.05);
  auto src = Synth(cfg, 0, 1, 100000, false);
  Batch b;
  ASSERT_TRUE(src->Next(&b));
  std::unordered_map<uint64_t, int> count;
  for (uint64_t id : b.sparse[0].values) ++count[id];
  std::vector<std::pair<int, uint64_t>> by_freq;
  for (const auto& [id, c] : count) by_freq.emplace_back(c, id);
  std::sort(by_freq.rbegin(), by_freq.rend());
  EXPECT_NEAR(static_cast<double>(by_freq[0].first) / by_freq[1].first, std::pow(2.0, 1.05), 0.15);
  EXPECT_NEAR(by_freq[0].first / 100000.0, TopProbability(1000, 1.05), 0.01);
  // Hot ids are scattered, not 0, 1, 2.
  EXPECT_FALSE(by_freq[0].second == 0 && by_freq[1].second == 1);
}

TEST(Synthetic, PlantedOptimumBeatsTrivialScorers) {
  config::SyntheticConfig cfg;  // Criteo-shaped defaults
  cfg.set_num_train_samples(1000);
  cfg.set_num_eval_samples(20000);
  const PlantedOptimum opt = PlantedOptimumMetrics(cfg, 0);
  EXPECT_EQ(opt.samples, 20000u);
  EXPECT_GT(opt.auc, 0.72) << "planted signal too weak";
  EXPECT_LT(opt.auc, 0.95) << "planted signal implausibly strong";
  EXPECT_GT(opt.positive_rate, 0.1);
  EXPECT_LT(opt.positive_rate, 0.5);
  // Better than predicting the base rate everywhere.
  const double p = opt.positive_rate;
  EXPECT_LT(opt.logloss, -(p * std::log(p) + (1 - p) * std::log(1 - p)) - 0.05);
  EXPECT_DOUBLE_EQ(PlantedOptimumAuc(cfg, 5000), PlantedOptimumMetrics(cfg, 5000).auc);

  // A constant scorer is at chance; the first-order id weights alone (no
  // dense, no interactions) are informative but below the optimum.
  const SyntheticModel model(cfg);
  std::vector<float> constant, linear, labels;
  SyntheticSample s;
  for (uint64_t j = 0; j < 20000; ++j) {
    model.Generate(model.num_train() + j, &s);
    double w = 0.0;
    for (int f = 0; f < model.num_sparse(); ++f) w += model.IdWeight(f, s.ids[s.offsets[f]]);
    constant.push_back(0.5f);
    linear.push_back(static_cast<float>(w));
    labels.push_back(s.label);
  }
  EXPECT_NEAR(BinaryAuc(constant, labels), 0.5, 1e-9);
  const double linear_auc = BinaryAuc(linear, labels);
  EXPECT_GT(linear_auc, 0.6);
  EXPECT_LT(linear_auc, opt.auc - 0.02);
}

// The ids of feature 0 over samples [first, last), most frequent first.
std::vector<uint64_t> IdsByFrequency(const SyntheticModel& m, uint64_t first, uint64_t last) {
  std::unordered_map<uint64_t, int> count;
  SyntheticSample s;
  for (uint64_t i = first; i < last; ++i) {
    m.Generate(i, &s);
    ++count[s.ids[s.offsets[0]]];
  }
  std::vector<std::pair<int, uint64_t>> by_freq;
  for (const auto& [id, c] : count) by_freq.emplace_back(c, id);
  std::sort(by_freq.rbegin(), by_freq.rend());
  std::vector<uint64_t> out;
  for (const auto& p : by_freq) out.push_back(p.second);
  return out;
}

TEST(Synthetic, DriftChangesTheHotIdsOnly) {
  config::SyntheticConfig base;
  base.set_num_train_samples(40000);
  base.set_num_eval_samples(20000);
  base.add_cardinalities(1000);
  base.add_cardinalities(100000);
  base.set_num_dense(3);
  base.set_zipf_exponent(1.2);
  auto drift = base;
  drift.set_drift_after_samples(20000);
  const SyntheticModel plain(base), drifting(drift);
  EXPECT_FALSE(plain.PostDrift(39999));
  EXPECT_FALSE(plain.PostDrift(40000));
  EXPECT_FALSE(drifting.PostDrift(19999));
  EXPECT_TRUE(drifting.PostDrift(20000));
  EXPECT_TRUE(drifting.PostDrift(40000));  // eval

  // Before the drift, the two models make identical samples.
  for (uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{19999}}) {
    EXPECT_EQ(FromModel(plain, i, 0), FromModel(drifting, i, 0)) << i;
  }
  // After it, the draws are the same (dense features, bag shapes) but the ids differ.
  int ids_changed = 0;
  for (uint64_t i = 20000; i < 20100; ++i) {
    const FlatSample a = FromModel(plain, i, 0), b = FromModel(drifting, i, 0);
    EXPECT_EQ(a.dense, b.dense);
    ids_changed += a.bags != b.bags;
  }
  EXPECT_GT(ids_changed, 95);
  // The planted weights are a function of the id alone.
  for (uint64_t id : {uint64_t{0}, uint64_t{5}, uint64_t{999}}) {
    EXPECT_EQ(plain.IdWeight(0, id), drifting.IdWeight(0, id));
  }

  // The hot ids change at the drift...
  const auto before = IdsByFrequency(drifting, 0, 20000);
  const auto after = IdsByFrequency(drifting, 20000, 40000);
  const auto eval = IdsByFrequency(drifting, 40000, 60000);
  ASSERT_GE(before.size(), 10u);
  ASSERT_GE(after.size(), 10u);
  EXPECT_NE(before[0], after[0]);
  const std::set<uint64_t> top_before(before.begin(), before.begin() + 10);
  int shared = 0;
  for (int k = 0; k < 10; ++k) shared += top_before.count(after[k]);
  EXPECT_LE(shared, 3) << "the top-10 ids barely change at the drift";
  // ...and eval uses the post-drift map.
  EXPECT_EQ(eval[0], after[0]);
  // Without drift, the hot ids stay where they were, in eval too.
  EXPECT_EQ(IdsByFrequency(plain, 20000, 40000)[0], before[0]);
  EXPECT_EQ(IdsByFrequency(plain, 40000, 60000)[0], before[0]);

  // The source reads post-drift samples from index drift_after_samples on.
  auto src = Synth(drift, 0, 1, 100, false, 200);
  Batch b;
  ASSERT_TRUE(src->Next(&b));
  EXPECT_EQ(b.first_sample, 20000);
  EXPECT_EQ(testing::Flatten(b)[0], FromModel(drifting, 20000, 20000));
}

TEST(Synthetic, RejectsInconsistentConfig) {
  auto cfg = SmallConfig();
  cfg.add_multi_hot_max(2);  // 7 entries for 6 features
  EXPECT_THROW(SyntheticModel{cfg}, Error);
  auto zero = SmallConfig();
  zero.set_cardinalities(0, 0);
  EXPECT_THROW(SyntheticModel{zero}, Error);
  auto neg = SmallConfig();
  neg.set_zipf_exponent(-1.0);
  EXPECT_THROW(SyntheticModel{neg}, Error);
  auto late_drift = SmallConfig();
  late_drift.set_drift_after_samples(100);  // = num_train: no training sample would drift
  EXPECT_THROW(SyntheticModel{late_drift}, Error);
  late_drift.set_drift_after_samples(99);
  EXPECT_NO_THROW(SyntheticModel{late_drift});
}

}  // namespace
}  // namespace shardrec
