#include "shardrec/data/sequence_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "shardrec/core/error.h"
#include "test_util.h"

namespace shardrec {
namespace {

using testing::ErrorOf;

// One sequence of a batch, pulled out so batches of different rank counts compare.
struct Seq {
  int64_t position = 0;
  uint64_t user = 0;
  std::vector<uint64_t> items;
  std::vector<int64_t> timestamps;
  std::vector<uint64_t> targets;  // training
  uint64_t label = 0;             // evaluation
  std::vector<uint64_t> seen;     // evaluation

  bool operator==(const Seq& o) const {
    return position == o.position && user == o.user && items == o.items && timestamps == o.timestamps &&
           targets == o.targets && label == o.label && seen == o.seen;
  }
};

template <typename T>
std::string Show(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + std::to_string(v[i]);
  return out + "]";
}

std::ostream& operator<<(std::ostream& os, const Seq& s) {
  return os << "{pos " << s.position << " user " << s.user << " items " << Show(s.items) << " times "
            << Show(s.timestamps) << " targets " << Show(s.targets) << " label " << s.label << " seen " << Show(s.seen)
            << "}";
}

// Checks the batch's internal consistency and splits it into sequences.
std::vector<Seq> Flatten(const SequenceBatch& b, bool training) {
  std::vector<Seq> out;
  EXPECT_EQ(static_cast<int64_t>(b.offsets.size()), b.batch_size + 1);
  EXPECT_EQ(b.offsets.front(), 0);
  EXPECT_EQ(static_cast<int64_t>(b.items.size()), b.num_tokens());
  EXPECT_EQ(b.timestamps.size(), b.items.size());
  EXPECT_EQ(static_cast<int64_t>(b.users.size()), b.batch_size);
  if (training) {
    EXPECT_EQ(b.targets.size(), b.items.size());
    EXPECT_TRUE(b.labels.empty());
    EXPECT_TRUE(b.seen.empty());
    EXPECT_EQ(b.seen_offsets, std::vector<int64_t>{0});
  } else {
    EXPECT_TRUE(b.targets.empty());
    EXPECT_EQ(static_cast<int64_t>(b.labels.size()), b.batch_size);
    EXPECT_EQ(static_cast<int64_t>(b.seen_offsets.size()), b.batch_size + 1);
    EXPECT_EQ(b.seen_offsets.front(), 0);
    EXPECT_EQ(static_cast<int64_t>(b.seen.size()), b.seen_offsets.back());
  }
  if (::testing::Test::HasFailure()) return out;
  for (int64_t i = 0; i < b.batch_size; ++i) {
    Seq s;
    s.position = b.first_sample + i;
    s.user = b.users[i];
    s.items.assign(b.items.begin() + b.offsets[i], b.items.begin() + b.offsets[i + 1]);
    s.timestamps.assign(b.timestamps.begin() + b.offsets[i], b.timestamps.begin() + b.offsets[i + 1]);
    if (training) {
      s.targets.assign(b.targets.begin() + b.offsets[i], b.targets.begin() + b.offsets[i + 1]);
    } else {
      s.label = b.labels[i];
      s.seen.assign(b.seen.begin() + b.seen_offsets[i], b.seen.begin() + b.seen_offsets[i + 1]);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Users 101..110 with 3..12 items: item j of user u is 100u + j + 1, at time 1000u + 10j.
std::shared_ptr<const SequenceDataset> HandMade() {
  auto ds = std::make_shared<SequenceDataset>();
  for (uint64_t k = 0; k < 10; ++k) {
    UserHistory h;
    h.user = 101 + k;
    for (uint64_t j = 0; j < 3 + k; ++j) {
      h.items.push_back(100 * h.user + j + 1);
      h.timestamps.push_back(static_cast<int64_t>(1000 * h.user + 10 * j));
    }
    ds->users.push_back(std::move(h));
  }
  return ds;
}

const UserHistory& UserById(const SequenceDataset& ds, uint64_t id) {
  for (const UserHistory& h : ds.users)
    if (h.user == id) return h;
  ADD_FAILURE() << "no user " << id;
  return ds.users.front();
}

// The training sample the spec describes, written out independently.
Seq ExpectedTrain(const UserHistory& u, uint32_t max_len, int64_t position) {
  Seq s;
  s.position = position;
  s.user = u.user;
  const size_t n = u.items.size();
  std::vector<uint64_t> tr(u.items.begin(), u.items.begin() + (n - 2));
  std::vector<int64_t> tt(u.timestamps.begin(), u.timestamps.begin() + (n - 2));
  if (tr.size() == 1) {
    s.items = tr;
    s.timestamps = tt;
    s.targets = {0};
    return s;
  }
  while (tr.size() > max_len + 1) {
    tr.erase(tr.begin());
    tt.erase(tt.begin());
  }
  for (size_t i = 0; i + 1 < tr.size(); ++i) {
    s.items.push_back(tr[i]);
    s.timestamps.push_back(tt[i]);
    s.targets.push_back(tr[i + 1]);
  }
  return s;
}

Seq ExpectedEval(const UserHistory& u, SequenceSplit split, uint32_t max_len, int64_t position) {
  Seq s;
  s.position = position;
  s.user = u.user;
  const size_t h = u.items.size() - (split == SequenceSplit::kValidation ? 2 : 1);
  s.label = u.items[h];
  s.seen.assign(u.items.begin(), u.items.begin() + h);
  const size_t begin = h > max_len ? h - max_len : 0;
  s.items.assign(u.items.begin() + begin, u.items.begin() + h);
  s.timestamps.assign(u.timestamps.begin() + begin, u.timestamps.begin() + h);
  return s;
}

SliceSpec Spec(int rank, int world, uint64_t g, bool repeat, uint64_t start_step = 0) {
  SliceSpec s;
  s.rank = rank;
  s.world = world;
  s.global_batch = g;
  s.repeat = repeat;
  s.start_step = start_step;
  return s;
}

std::vector<std::vector<Seq>> TrainSteps(const std::shared_ptr<const SequenceDataset>& ds, uint32_t max_len,
                                         const SliceSpec& spec, uint64_t seed, int steps) {
  SequenceTrainSource src(ds, max_len, spec, seed);
  std::vector<std::vector<Seq>> out;
  SequenceBatch b;
  for (int i = 0; i < steps; ++i) {
    src.Next(&b);
    out.push_back(Flatten(b, true));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Training

TEST(SequenceTrainSource, SamplesAreTruncatedTrainingSequencesWithNextItemTargets) {
  const auto ds = HandMade();
  for (uint32_t max_len : {1u, 3u, 50u}) {
    SCOPED_TRACE("max_len " + std::to_string(max_len));
    const auto steps = TrainSteps(ds, max_len, Spec(0, 1, 4, true), 7, 10);
    int64_t position = 0;
    for (const auto& step : steps) {
      ASSERT_EQ(step.size(), 4u);
      for (const Seq& s : step) {
        EXPECT_EQ(s, ExpectedTrain(UserById(*ds, s.user), max_len, position));
        EXPECT_LE(s.items.size(), max_len);
        EXPECT_GE(s.items.size(), 1u);
        ++position;
      }
    }
  }
  // Spelled out: user 110 has items 11001..11012, training sequence 11001..11010.
  SequenceTrainSource src(ds, 3, Spec(0, 1, 10, true), 7);
  SequenceBatch b;
  src.Next(&b);
  for (const Seq& s : Flatten(b, true)) {
    if (s.user == 110) {
      EXPECT_EQ(s.items, (std::vector<uint64_t>{11007, 11008, 11009}));
      EXPECT_EQ(s.targets, (std::vector<uint64_t>{11008, 11009, 11010}));
      EXPECT_EQ(s.timestamps, (std::vector<int64_t>{110060, 110070, 110080}));
    }
    if (s.user == 101) {  // 3 items: one training item, nothing to predict from it
      EXPECT_EQ(s.items, (std::vector<uint64_t>{10101}));
      EXPECT_EQ(s.targets, (std::vector<uint64_t>{0}));
    }
    if (s.user == 102) {  // 4 items: training 10201 10202
      EXPECT_EQ(s.items, (std::vector<uint64_t>{10201}));
      EXPECT_EQ(s.targets, (std::vector<uint64_t>{10202}));
    }
  }
}

TEST(SequenceTrainSource, RankUnionEqualsSingleRank) {
  const auto ds = HandMade();
  // g = 12 > 10 users: one global batch spans an epoch boundary and more.
  for (uint64_t g : {4u, 8u, 12u}) {
    const auto single = TrainSteps(ds, 4, Spec(0, 1, g, true), 3, 9);
    for (int world : {1, 2, 4}) {
      SCOPED_TRACE("g " + std::to_string(g) + " world " + std::to_string(world));
      std::vector<std::vector<std::vector<Seq>>> ranks;
      for (int r = 0; r < world; ++r) ranks.push_back(TrainSteps(ds, 4, Spec(r, world, g, true), 3, 9));
      for (size_t step = 0; step < single.size(); ++step) {
        std::vector<Seq> joined;
        for (int r = 0; r < world; ++r) {
          EXPECT_EQ(ranks[r][step].size(), g / world);
          joined.insert(joined.end(), ranks[r][step].begin(), ranks[r][step].end());
        }
        ASSERT_EQ(joined, single[step]) << "step " << step;
      }
    }
  }
}

TEST(SequenceTrainSource, StartStepResumesExactly) {
  const auto ds = HandMade();
  for (int world : {1, 2}) {
    for (int r = 0; r < world; ++r) {
      const auto fresh = TrainSteps(ds, 5, Spec(r, world, 6, true), 11, 8);
      for (uint64_t k : {1u, 3u, 7u}) {
        SequenceTrainSource resumed(ds, 5, Spec(r, world, 6, true, k), 11);
        EXPECT_EQ(resumed.step(), k);
        SequenceBatch b;
        resumed.Next(&b);
        EXPECT_EQ(Flatten(b, true), fresh[k]) << "world " << world << " rank " << r << " k " << k;
        EXPECT_EQ(resumed.step(), k + 1);
        EXPECT_EQ(b.first_sample, static_cast<int64_t>(k * 6 + SliceBegin(6, r, world)));
      }
    }
  }
}

TEST(SequenceTrainSource, EveryEpochIsAShuffleOfAllUsers) {
  const auto ds = HandMade();
  // g = 3 does not divide 10 users: batches straddle epoch boundaries.
  const auto steps = TrainSteps(ds, 4, Spec(0, 1, 3, true), 5, 10);
  std::vector<uint64_t> stream;
  for (const auto& step : steps)
    for (const Seq& s : step) {
      EXPECT_EQ(s.position, static_cast<int64_t>(stream.size()));
      stream.push_back(s.user);
    }
  ASSERT_EQ(stream.size(), 30u);
  std::set<std::vector<uint64_t>> orders;
  for (uint64_t e = 0; e < 3; ++e) {
    const std::vector<uint64_t> epoch(stream.begin() + 10 * e, stream.begin() + 10 * (e + 1));
    std::vector<uint64_t> sorted = epoch;
    std::sort(sorted.begin(), sorted.end());
    std::vector<uint64_t> all;
    for (const UserHistory& h : ds->users) all.push_back(h.user);
    EXPECT_EQ(sorted, all) << "epoch " << e << " is not a permutation: " << Show(epoch);
    // Exactly the documented shuffle.
    const std::vector<uint64_t> order = SequenceEpochOrder(10, 5, e);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ(epoch[i], ds->users[order[i]].user);
    orders.insert(epoch);
  }
  EXPECT_EQ(orders.size(), 3u) << "epochs should be shuffled differently";
  EXPECT_NE(SequenceEpochOrder(10, 5, 0), SequenceEpochOrder(10, 6, 0)) << "the seed should matter";

  // A bigger shuffle is a permutation too and not the identity.
  const std::vector<uint64_t> big = SequenceEpochOrder(1000, 1, 0);
  std::vector<uint64_t> sorted = big;
  std::sort(sorted.begin(), sorted.end());
  for (uint64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(big, sorted);
}

TEST(SequenceTrainSource, ReusesBatchBuffers) {
  const auto ds = HandMade();
  SequenceTrainSource src(ds, 50, Spec(0, 1, 4, true), 1);
  SequenceBatch b;
  // Left over from an evaluation batch: must be cleared.
  b.labels = {1, 2};
  b.seen = {3, 4};
  b.seen_offsets = {0, 1, 2};
  b.items.reserve(1000);
  b.targets.reserve(1000);
  const uint64_t* items = b.items.data();
  const uint64_t* targets = b.targets.data();
  for (int i = 0; i < 5; ++i) {
    src.Next(&b);
    Flatten(b, true);
    EXPECT_EQ(b.items.data(), items);
    EXPECT_EQ(b.targets.data(), targets);
  }
}

TEST(SequenceTrainSource, RejectsWhatItCannotServe) {
  const auto ds = HandMade();
  std::string msg = ErrorOf([&] { SequenceTrainSource(nullptr, 4, Spec(0, 1, 4, true), 1); });
  EXPECT_NE(msg.find("needs a dataset"), std::string::npos) << msg;
  msg = ErrorOf([&] { SequenceTrainSource(std::make_shared<SequenceDataset>(), 4, Spec(0, 1, 4, true), 1); });
  EXPECT_NE(msg.find("at least one user"), std::string::npos) << msg;
  msg = ErrorOf([&] { SequenceTrainSource(ds, 4, Spec(0, 3, 4, true), 1); });
  EXPECT_NE(msg.find("does not divide by the 3 ranks"), std::string::npos) << msg;
  msg = ErrorOf([&] { SequenceTrainSource(ds, 4, Spec(0, 1, 4, false), 1); });
  EXPECT_NE(msg.find("training stream repeats"), std::string::npos) << msg;
  msg = ErrorOf([&] { SequenceTrainSource(ds, 0, Spec(0, 1, 4, true), 1); });
  EXPECT_NE(msg.find("max_len must be at least 1"), std::string::npos) << msg;

  auto short_user = std::make_shared<SequenceDataset>(*ds);
  short_user->users[4].items.resize(2);
  short_user->users[4].timestamps.resize(2);
  msg = ErrorOf([&] { SequenceTrainSource(short_user, 4, Spec(0, 1, 4, true), 1); });
  EXPECT_NE(msg.find("user 105 has 2 items; leave-one-out needs at least 3"), std::string::npos) << msg;
  msg = ErrorOf([&] { SequenceEvalSource(short_user, SequenceSplit::kTest, 4, Spec(0, 1, 4, false)); });
  EXPECT_NE(msg.find("user 105 has 2 items"), std::string::npos) << msg;
  msg = ErrorOf([&] { SequenceEvalSource(ds, SequenceSplit::kTest, 4, Spec(0, 1, 4, true)); });
  EXPECT_NE(msg.find("test stream ends"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// Evaluation

TEST(SequenceEvalSource, CoversEveryUserOnceWithLabelAndFullSeenList) {
  const auto ds = HandMade();
  for (SequenceSplit split : {SequenceSplit::kValidation, SequenceSplit::kTest}) {
    for (uint32_t max_len : {2u, 50u}) {
      SCOPED_TRACE(std::string(SequenceSplitName(split)) + " max_len " + std::to_string(max_len));
      SequenceEvalSource src(ds, split, max_len, Spec(0, 1, 4, false));
      EXPECT_EQ(src.num_steps(), 3u);
      SequenceBatch b;
      std::vector<Seq> all;
      std::vector<int64_t> sizes;
      while (src.Next(&b)) {
        sizes.push_back(b.batch_size);
        for (Seq& s : Flatten(b, false)) all.push_back(std::move(s));
      }
      EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));  // the last batch is partial
      ASSERT_EQ(all.size(), ds->users.size());
      for (size_t i = 0; i < all.size(); ++i)
        EXPECT_EQ(all[i], ExpectedEval(ds->users[i], split, max_len, static_cast<int64_t>(i)));
      EXPECT_FALSE(src.Next(&b)) << "stays exhausted";
    }
  }
  // Spelled out: user 105 has items 10501..10507.
  SequenceEvalSource val(ds, SequenceSplit::kValidation, 2, Spec(0, 1, 10, false));
  SequenceEvalSource test(ds, SequenceSplit::kTest, 2, Spec(0, 1, 10, false));
  SequenceBatch b;
  ASSERT_TRUE(val.Next(&b));
  Seq s = Flatten(b, false)[4];
  EXPECT_EQ(s.user, 105u);
  EXPECT_EQ(s.items, (std::vector<uint64_t>{10504, 10505}));
  EXPECT_EQ(s.label, 10506u);
  EXPECT_EQ(s.seen, (std::vector<uint64_t>{10501, 10502, 10503, 10504, 10505}));
  ASSERT_TRUE(test.Next(&b));
  s = Flatten(b, false)[4];
  EXPECT_EQ(s.items, (std::vector<uint64_t>{10505, 10506}));
  EXPECT_EQ(s.timestamps, (std::vector<int64_t>{105040, 105050}));
  EXPECT_EQ(s.label, 10507u);
  EXPECT_EQ(s.seen, (std::vector<uint64_t>{10501, 10502, 10503, 10504, 10505, 10506}));
}

TEST(SequenceEvalSource, RanksTakeEqualStepsAndTheirUnionIsTheSingleRankPass) {
  const auto ds = HandMade();
  for (uint64_t g : {4u, 8u, 12u, 40u}) {
    SequenceEvalSource single(ds, SequenceSplit::kTest, 3, Spec(0, 1, g, false));
    std::vector<std::vector<Seq>> expected;
    SequenceBatch b;
    while (single.Next(&b)) expected.push_back(Flatten(b, false));
    ASSERT_EQ(expected.size(), (10 + g - 1) / g);
    for (int world : {2, 4}) {
      SCOPED_TRACE("g " + std::to_string(g) + " world " + std::to_string(world));
      std::vector<std::unique_ptr<SequenceEvalSource>> ranks;
      for (int r = 0; r < world; ++r)
        ranks.push_back(std::make_unique<SequenceEvalSource>(ds, SequenceSplit::kTest, 3, Spec(r, world, g, false)));
      for (size_t step = 0; step <= expected.size(); ++step) {
        std::vector<Seq> joined;
        int ended = 0;
        for (int r = 0; r < world; ++r) {
          if (!ranks[r]->Next(&b)) {
            ++ended;
            continue;
          }
          const uint64_t start = step * g;
          const uint64_t in_batch = std::min<uint64_t>(g, 10 - start);
          EXPECT_EQ(b.batch_size,
                    static_cast<int64_t>(SliceBegin(in_batch, r + 1, world) - SliceBegin(in_batch, r, world)));
          EXPECT_EQ(b.first_sample, static_cast<int64_t>(start + SliceBegin(in_batch, r, world)));
          for (Seq& s : Flatten(b, false)) joined.push_back(std::move(s));
        }
        if (step == expected.size()) {
          EXPECT_EQ(ended, world) << "ranks go on after the single-rank pass ended";
          break;
        }
        ASSERT_EQ(ended, 0) << "step " << step << ": a rank ended early";
        ASSERT_EQ(joined, expected[step]) << "step " << step;
      }
    }
  }
}

TEST(SequenceEvalSource, EmptySlicesInTheLastBatch) {
  // 10 users, g = 4, 4 ranks: the last batch has 2 users; ranks 0 and 2 get none.
  const auto ds = HandMade();
  std::vector<int64_t> last_sizes;
  for (int r = 0; r < 4; ++r) {
    SequenceEvalSource src(ds, SequenceSplit::kValidation, 5, Spec(r, 4, 4, false));
    SequenceBatch b;
    int steps = 0;
    while (src.Next(&b)) {
      ++steps;
      Flatten(b, false);
    }
    EXPECT_EQ(steps, 3);
    last_sizes.push_back(b.batch_size);
    if (b.batch_size == 0) {
      EXPECT_EQ(b.offsets, std::vector<int64_t>{0});
      EXPECT_EQ(b.seen_offsets, std::vector<int64_t>{0});
      EXPECT_TRUE(b.items.empty() && b.labels.empty() && b.users.empty() && b.seen.empty());
    }
  }
  EXPECT_EQ(last_sizes, (std::vector<int64_t>{0, 1, 0, 1}));
}

TEST(SequenceEvalSource, StartStepSkipsBatches) {
  const auto ds = HandMade();
  SequenceEvalSource src(ds, SequenceSplit::kTest, 5, Spec(0, 1, 4, false, 2));
  SequenceBatch b;
  ASSERT_TRUE(src.Next(&b));
  EXPECT_EQ(b.first_sample, 8);
  EXPECT_EQ(b.users, (std::vector<uint64_t>{109, 110}));
  EXPECT_FALSE(src.Next(&b));
}

// ---------------------------------------------------------------------------
// Real data

TEST(SequenceSourcesRealData, MovieLens100KTestPassOnFourRanks) {
  SHARDREC_REQUIRE_DATA("movielens-100k/u.data");
  const auto ds = std::make_shared<const SequenceDataset>(
      ReadSequenceDataset(testing::DataDir() + "/movielens-100k/u.data", config::MOVIELENS_TAB, 3, config::ERROR));
  std::map<uint64_t, int> served;
  for (int r = 0; r < 4; ++r) {
    SequenceEvalSource src(ds, SequenceSplit::kTest, 50, Spec(r, 4, 128, false));
    SequenceBatch b;
    int steps = 0;
    while (src.Next(&b)) {
      ++steps;
      const auto seqs = Flatten(b, false);
      for (const Seq& s : seqs) {
        ++served[s.user];
        const UserHistory& u = ds->users[static_cast<size_t>(s.position)];
        EXPECT_EQ(s.user, u.user);
        EXPECT_EQ(s.label, u.items.back());
        EXPECT_EQ(s.seen.size(), u.items.size() - 1);
        EXPECT_EQ(s.items.size(), std::min<size_t>(50, u.items.size() - 1));
      }
    }
    EXPECT_EQ(steps, 8);  // ceil(943 / 128)
  }
  EXPECT_EQ(served.size(), 943u);
  for (const auto& [user, count] : served) EXPECT_EQ(count, 1) << "user " << user;

  // A training step on 4 ranks joins to the single-rank step.
  const auto single = TrainSteps(ds, 50, Spec(0, 1, 128, true), 9, 8);
  for (int r = 0; r < 4; ++r) {
    const auto part = TrainSteps(ds, 50, Spec(r, 4, 128, true), 9, 8);
    for (size_t step = 0; step < part.size(); ++step) {
      ASSERT_EQ(part[step].size(), 32u);
      for (size_t i = 0; i < 32; ++i) ASSERT_EQ(part[step][i], single[step][32 * r + i]);
    }
  }
}

}  // namespace
}  // namespace shardrec
