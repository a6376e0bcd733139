// HotSketch: the insert rules of models.md §4 one by one on a single bucket (every id collides there, so each
// case is exact), decay and demotion at the exact trigger, checkpoint round trip and corruption, heavy-hitter
// recall on Zipf streams, and invariants under long random streams.
#include "shardrec/embedding/hot_sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"

namespace shardrec {
namespace {

using Change = HotSketch::Change;

// Ids, scores and hot flags of bucket 0, in stored order.
std::vector<uint64_t> Ids(const HotSketch& s, uint64_t bucket = 0) {
  std::vector<uint64_t> ids;
  for (const HotSketch::Slot& slot : s.BucketSlots(bucket)) ids.push_back(slot.id);
  return ids;
}
std::vector<float> Scores(const HotSketch& s, uint64_t bucket = 0) {
  std::vector<float> scores;
  for (const HotSketch::Slot& slot : s.BucketSlots(bucket)) scores.push_back(slot.score);
  return scores;
}

bool SameChanges(const std::vector<Change>& a, const std::vector<Change>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].hot_row != b[i].hot_row) return false;
  }
  return true;
}

// Inverse-CDF Zipf sampler over ranks 1..n (P(r) ~ r^-z). Rank r maps to a scattered 64-bit id so the sketch's
// hash sees realistic ids, not 1..n.
class Zipf {
 public:
  Zipf(uint64_t n, double z) : cdf_(n) {
    double sum = 0;
    for (uint64_t r = 1; r <= n; ++r) cdf_[r - 1] = (sum += std::pow(static_cast<double>(r), -z));
    for (double& c : cdf_) c /= sum;
  }
  // 0-based rank.
  uint64_t Rank(CounterRng* rng) const {
    const double u = rng->Uniform();
    return std::min<uint64_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin(), cdf_.size() - 1);
  }
  static uint64_t Id(uint64_t rank) { return Mix64(rank ^ 0x5A5A5A5A12345678ull); }

 private:
  std::vector<double> cdf_;
};

TEST(HotSketch, RejectsBadArguments) {
  EXPECT_THROW(HotSketch(0, 10, 1.0f, 0.99f, 1), Error);
  EXPECT_THROW(HotSketch(4, uint64_t{1} << 31, 1.0f, 0.99f, 1), Error);
  EXPECT_THROW(HotSketch(4, 10, 0.0f, 0.99f, 1), Error);
  EXPECT_THROW(HotSketch(4, 10, 1.0f, 0.0f, 1), Error);
  EXPECT_THROW(HotSketch(4, 10, 1.0f, 1.5f, 1), Error);
  HotSketch s(4, 10, 1.0f, 0.99f, 1);
  EXPECT_THROW(s.Insert(1, -1.0f, nullptr, nullptr), Error);
  EXPECT_THROW(s.Insert(1, std::nanf(""), nullptr, nullptr), Error);
  EXPECT_THROW(s.Insert(1, INFINITY, nullptr, nullptr), Error);
  EXPECT_EQ(s.Score(1), 0.0f);
  EXPECT_EQ(s.free_hot_rows(), 10u);
  EXPECT_EQ(s.num_hot(), 0u);
}

// A new id goes into the first empty slot and moves up past strictly smaller scores; adding to a present id
// moves it up too; ties keep their order.
TEST(HotSketch, BucketSortedAfterEmptySlotAndAddInserts) {
  HotSketch s(1, 0, 1000.0f, 1.0f, 7);
  s.Insert(10, 1.0f, nullptr, nullptr);
  s.Insert(11, 3.0f, nullptr, nullptr);  // empty-slot path, moves above 10
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{11, 10}));
  s.Insert(12, 2.0f, nullptr, nullptr);
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{11, 12, 10}));
  s.Insert(13, 2.0f, nullptr, nullptr);  // ties 12: stays below it
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{11, 12, 13, 10}));
  s.Insert(10, 2.5f, nullptr, nullptr);  // add path: 3.5 goes to the top
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{10, 11, 12, 13}));
  EXPECT_EQ(Scores(s), (std::vector<float>{3.5f, 3.0f, 2.0f, 2.0f}));
  s.Insert(13, 0.5f, nullptr, nullptr);  // 2.5 passes 12 only
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{10, 11, 13, 12}));
  s.CheckInvariants();
}

// Space-Saving: a newcomer to a full bucket takes the minimum slot's place and inherits its score.
TEST(HotSketch, SpaceSavingInheritance) {
  HotSketch s(1, 0, 1000.0f, 1.0f, 7);
  s.Insert(1, 5.0f, nullptr, nullptr);
  s.Insert(2, 4.0f, nullptr, nullptr);
  s.Insert(3, 3.0f, nullptr, nullptr);
  s.Insert(4, 2.0f, nullptr, nullptr);
  s.Insert(5, 1.5f, nullptr, nullptr);  // replaces 4 (2.0): 2.0 + 1.5 = 3.5, moves above 3
  EXPECT_EQ(s.Score(4), 0.0f);
  EXPECT_EQ(s.Score(5), 3.5f);
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{1, 2, 5, 3}));
  EXPECT_EQ(Scores(s), (std::vector<float>{5.0f, 4.0f, 3.5f, 3.0f}));
  s.Insert(6, 1.0f, nullptr, nullptr);  // replaces 3 (3.0): 4.0, ties 2 and stays below it
  EXPECT_EQ(s.Score(3), 0.0f);
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{1, 2, 6, 5}));
  EXPECT_EQ(Scores(s), (std::vector<float>{5.0f, 4.0f, 4.0f, 3.5f}));
  s.Insert(7, 0.0f, nullptr, nullptr);  // v = 0 still replaces: 3.5 inherited, stays last
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{1, 2, 6, 7}));
  EXPECT_EQ(s.Score(7), 3.5f);
  s.CheckInvariants();
}

// A bucket full of hot ids drops every newcomer; nothing about the hot ids changes.
TEST(HotSketch, HotSlotsAreNeverReplaced) {
  HotSketch s(1, 4, 1.0f, 1.0f, 7);
  std::vector<Change> promoted, demoted;
  for (uint64_t id = 1; id <= 4; ++id) {
    s.Insert(id, 1.0f, &promoted, &demoted);  // empty-slot path: no promotion
    s.Insert(id, 1.0f, &promoted, &demoted);  // add path: 2 >= 1, promoted
  }
  ASSERT_EQ(promoted.size(), 4u);
  ASSERT_EQ(s.num_hot(), 4u);
  const std::vector<uint64_t> ids_before = Ids(s);
  const std::vector<float> scores_before = Scores(s);
  for (uint64_t id = 100; id < 200; ++id) {
    s.Insert(id, 1.0f, &promoted, &demoted);
    EXPECT_EQ(s.Score(id), 0.0f) << id;
    EXPECT_EQ(s.HotRow(id), -1) << id;
  }
  EXPECT_GT(s.num_decays(), 0u);  // decay 1.0 ran and demoted nothing
  EXPECT_EQ(Ids(s), ids_before);
  EXPECT_EQ(Scores(s), scores_before);
  EXPECT_EQ(promoted.size(), 4u);
  EXPECT_TRUE(demoted.empty());
  for (uint64_t id = 1; id <= 4; ++id) EXPECT_EQ(s.HotRow(id), static_cast<int64_t>(id - 1));
  s.CheckInvariants();
}

// When the minimum score is shared by a hot slot (stored last) and non-hot slots, a non-hot one is replaced;
// a strictly smaller hot minimum drops the arrival.
TEST(HotSketch, MinimumTieWithHotSlotReplacesANonHotOne) {
  HotSketch s(1, 1, 2.0f, 1.0f, 7);
  std::vector<Change> promoted;
  s.Insert(1, 2.0f, &promoted, nullptr);
  s.Insert(2, 2.0f, &promoted, nullptr);
  s.Insert(3, 2.0f, &promoted, nullptr);  // >= T but inserted into empty slots: not hot
  s.Insert(4, 1.0f, &promoted, nullptr);
  s.Insert(4, 1.0f, &promoted, nullptr);  // 2.0, promoted, stays last (ties do not move)
  ASSERT_EQ(promoted.size(), 1u);
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(s.HotRow(4), 0);
  s.Insert(5, 0.5f, nullptr, nullptr);  // replaces 3, not the hot 4
  EXPECT_EQ(s.Score(3), 0.0f);
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{5, 1, 2, 4}));
  s.Insert(6, 0.5f, nullptr, nullptr);
  s.Insert(7, 0.5f, nullptr, nullptr);
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{5, 6, 7, 4}));
  s.Insert(8, 0.5f, nullptr, nullptr);  // minimum 2.0 is hot and alone: dropped
  EXPECT_EQ(s.Score(8), 0.0f);
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{5, 6, 7, 4}));
  EXPECT_EQ(s.HotRow(4), 0);
  s.CheckInvariants();
}

// Promotion needs score >= T, a free row, and the add-to-present path.
TEST(HotSketch, PromotionOnlyOnAddPathAndWithAFreeRow) {
  HotSketch s(1, 1, 5.0f, 1.0f, 7);
  std::vector<Change> promoted, demoted;
  s.Insert(1, 10.0f, &promoted, &demoted);  // empty-slot path: score 10 >= 5 but no promotion
  EXPECT_EQ(s.HotRow(1), -1);
  EXPECT_TRUE(promoted.empty());
  s.Insert(2, 1.0f, &promoted, &demoted);
  s.Insert(3, 1.0f, &promoted, &demoted);
  s.Insert(4, 1.0f, &promoted, &demoted);
  s.Insert(5, 10.0f, &promoted, &demoted);  // replacement path: inherits 1 -> 11 >= 5, a row is free, still no
  EXPECT_EQ(s.Score(5), 11.0f);
  EXPECT_EQ(s.HotRow(5), -1);
  EXPECT_TRUE(promoted.empty());
  EXPECT_EQ(s.free_hot_rows(), 1u);
  s.Insert(5, 0.0f, &promoted, &demoted);  // add path: promoted now
  ASSERT_EQ(promoted.size(), 1u);
  EXPECT_EQ(promoted[0].id, 5u);
  EXPECT_EQ(promoted[0].hot_row, 0);
  EXPECT_EQ(s.HotRow(5), 0);
  EXPECT_EQ(s.free_hot_rows(), 0u);
  s.Insert(1, 1.0f, &promoted, &demoted);  // 11 >= 5 on the add path, but no free row
  EXPECT_EQ(s.HotRow(1), -1);
  EXPECT_EQ(promoted.size(), 1u);
  EXPECT_EQ(s.num_hot(), 1u);
  EXPECT_TRUE(demoted.empty());
  s.CheckInvariants();
}

// Decay fires when the inserted total exceeds 10*s*T — not when it equals it — multiplies every score, and
// demotes hot ids that fall below T; a demoted id is promoted again into the freed row.
TEST(HotSketch, DecayAtExactBoundaryDemotesAndRepromotes) {
  HotSketch s(1, 2, 1.0f, 0.5f, 7);  // trigger: 10 * 1 * 1 = 10
  std::vector<Change> promoted, demoted;
  s.Insert(1, 1.0f, &promoted, &demoted);
  s.Insert(1, 2.0f, &promoted, &demoted);  // 3.0, row 0
  s.Insert(2, 1.0f, &promoted, &demoted);
  s.Insert(2, 0.5f, &promoted, &demoted);  // 1.5, row 1
  ASSERT_EQ(promoted.size(), 2u);
  EXPECT_EQ(s.HotRow(1), 0);
  EXPECT_EQ(s.HotRow(2), 1);
  s.Insert(3, 5.5f, &promoted, &demoted);  // total exactly 10.0: no decay
  EXPECT_EQ(s.inserted_since_decay(), 10.0);
  EXPECT_EQ(s.num_decays(), 0u);
  EXPECT_EQ(Scores(s), (std::vector<float>{5.5f, 3.0f, 1.5f}));
  s.Insert(4, 0.25f, &promoted, &demoted);  // 10.25 > 10: decay after this insert
  EXPECT_EQ(s.num_decays(), 1u);
  EXPECT_EQ(s.inserted_since_decay(), 0.0);
  EXPECT_EQ(Ids(s), (std::vector<uint64_t>{3, 1, 2, 4}));
  EXPECT_EQ(Scores(s), (std::vector<float>{2.75f, 1.5f, 0.75f, 0.125f}));
  ASSERT_EQ(demoted.size(), 1u);  // 2 fell to 0.75 < 1; 1 kept 1.5 >= 1
  EXPECT_EQ(demoted[0].id, 2u);
  EXPECT_EQ(demoted[0].hot_row, 1);
  EXPECT_EQ(s.HotRow(2), -1);
  EXPECT_EQ(s.HotRow(1), 0);
  EXPECT_EQ(s.free_hot_rows(), 1u);
  s.CheckInvariants();
  s.Insert(2, 0.25f, &promoted, &demoted);  // 1.0 >= T again: gets the freed row
  ASSERT_EQ(promoted.size(), 3u);
  EXPECT_EQ(promoted[2].id, 2u);
  EXPECT_EQ(promoted[2].hot_row, 1);
  EXPECT_EQ(s.HotRow(2), 1);
  EXPECT_EQ(s.free_hot_rows(), 0u);
  s.CheckInvariants();
}

// Fills `s` with a skewed random stream whose popular ids drift every 20000 arrivals, so old hot ids decay
// below T and are demoted while new ones are promoted; all insert paths run.
void Churn(HotSketch* s, uint64_t key, int n, std::vector<Change>* promoted, std::vector<Change>* demoted) {
  CounterRng rng(key);
  for (int i = 0; i < n; ++i) {
    const uint64_t popular = 1000000 + static_cast<uint64_t>(i / 20000) * 50 + rng.Below(50);
    const uint64_t id = rng.Below(4) == 0 ? popular : rng.Below(5000);
    s->Insert(id, static_cast<float>(rng.Uniform(0.0, 2.0)), promoted, demoted);
  }
}

TEST(HotSketch, SaveLoadRoundTripIsExact) {
  HotSketch a(64, 40, 3.0f, 0.8f, 11);
  Churn(&a, 1, 200000, nullptr, nullptr);
  ASSERT_GT(a.num_decays(), 0u);
  ASSERT_GT(a.num_hot(), 0u);
  std::stringstream buf;
  a.Save(buf);
  const std::string bytes = buf.str();

  HotSketch b(64, 40, 99.0f, 0.5f, 11);  // threshold and decay come from the stream
  std::istringstream in(bytes);
  b.Load(in, "sketch.bin");
  EXPECT_EQ(b.threshold(), 3.0f);
  EXPECT_EQ(b.decay(), 0.8f);
  EXPECT_EQ(b.num_decays(), a.num_decays());
  b.CheckInvariants();
  std::stringstream again;
  b.Save(again);
  EXPECT_EQ(again.str(), bytes);

  // Same continuation, same results: changes, rows and scores.
  std::vector<Change> pa, da, pb, db;
  Churn(&a, 2, 100000, &pa, &da);
  Churn(&b, 2, 100000, &pb, &db);
  EXPECT_FALSE(pa.empty());
  EXPECT_FALSE(da.empty());
  EXPECT_TRUE(SameChanges(pa, pb));
  EXPECT_TRUE(SameChanges(da, db));
  for (uint64_t id = 0; id < 5000; ++id) {
    ASSERT_EQ(a.HotRow(id), b.HotRow(id)) << id;
    ASSERT_EQ(a.Score(id), b.Score(id)) << id;
  }
  for (uint64_t id = 1000000; id < 1000500; ++id) {
    ASSERT_EQ(a.HotRow(id), b.HotRow(id)) << id;
    ASSERT_EQ(a.Score(id), b.Score(id)) << id;
  }
}

TEST(HotSketch, LoadRejectsTruncatedCorruptAndMismatchedStreams) {
  HotSketch a(16, 8, 2.0f, 0.9f, 3);
  Churn(&a, 5, 20000, nullptr, nullptr);
  std::stringstream buf;
  a.Save(buf);
  const std::string bytes = buf.str();

  HotSketch b(16, 8, 2.0f, 0.9f, 3);
  Churn(&b, 6, 1000, nullptr, nullptr);
  std::stringstream before;
  b.Save(before);
  auto expect_rejected = [&](const std::string& data, const char* needle) {
    std::istringstream in(data);
    try {
      b.Load(in, "ckpt/sketch_3.bin");
      ADD_FAILURE() << "accepted a bad stream (" << needle << ")";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("ckpt/sketch_3.bin"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
    std::stringstream after;
    b.Save(after);
    EXPECT_EQ(after.str(), before.str()) << "a failed Load changed the sketch";
  };
  for (size_t len : {size_t{0}, size_t{5}, size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    expect_rejected(bytes.substr(0, len), "truncated");
  }
  std::string flipped = bytes;
  flipped[bytes.size() - 100] ^= 0x10;  // inside the buckets
  expect_rejected(flipped, "corrupt");
  std::string magic = bytes;
  magic[0] ^= 1;
  expect_rejected(magic, "bad magic");
  HotSketch other(32, 8, 2.0f, 0.9f, 3);
  std::stringstream obuf;
  other.Save(obuf);
  expect_rejected(obuf.str(), "buckets");
}

// Heavy hitters: with k hot rows and T set to the k-th largest true count (decay off), every true top-k id
// reaches T, so recall is lost only to rows taken by ids over-estimated across T — few when the buckets are
// plentiful. Scores are checked against the Space-Saving bound below.
class HotSketchZipf : public ::testing::TestWithParam<double> {};

TEST_P(HotSketchZipf, RecoversTopKAndRespectsTheSpaceSavingBound) {
  const double z = GetParam();
  const uint64_t universe = 1000000;
  const int n = 4000000;
  const uint64_t k = 500;
  const uint64_t buckets = 16 * k;  // 64 slots per hot row
  const Zipf zipf(universe, z);
  CounterRng rng(static_cast<uint64_t>(z * 1000), 1, 0);
  std::vector<uint64_t> stream(n);
  std::vector<uint32_t> count(universe, 0);  // exact counts, by rank (rank <-> id is a bijection)
  for (int i = 0; i < n; ++i) {
    const uint64_t r = zipf.Rank(&rng);
    stream[i] = r;
    ++count[r];
  }
  std::vector<uint64_t> by_count(universe);
  for (uint64_t r = 0; r < universe; ++r) by_count[r] = r;
  std::partial_sort(by_count.begin(), by_count.begin() + k, by_count.end(),
                    [&](uint64_t a, uint64_t b) { return count[a] > count[b]; });
  const float threshold = static_cast<float>(count[by_count[k - 1]]);

  HotSketch s(buckets, k, threshold, 1.0f, 42);
  for (int i = 0; i < n; ++i) s.Insert(Zipf::Id(stream[i]), 1.0f, nullptr, nullptr);
  s.CheckInvariants();
  uint64_t found = 0;
  for (uint64_t i = 0; i < k; ++i) found += s.HotRow(Zipf::Id(by_count[i])) >= 0;
  const double recall = static_cast<double>(found) / k;
  EXPECT_GE(recall, 0.95) << "z " << z << " T " << threshold;

  // Space-Saving bounds, per bucket (decay off). A tracked id's over-estimate is the score it inherited when it
  // last entered the bucket, which was that bucket's minimum then, and a bucket's minimum never decreases, so
  //   score - true count <= current minimum score of its bucket  (<= arrivals to the bucket / occupied slots).
  // Under-estimates come only from dropped arrivals, and an arrival is dropped only when its bucket's minimum is
  // hot; hot ids are never demoted here, so in a bucket holding no hot id nothing was ever dropped and
  //   score >= true count  (the evicted score an id left with was >= its count, and it inherits at least that).
  std::unordered_map<uint64_t, uint64_t> rank_of;
  for (uint64_t r = 0; r < universe; ++r) rank_of[Zipf::Id(r)] = r;
  std::vector<uint64_t> arrivals(buckets, 0);
  for (int i = 0; i < n; ++i) ++arrivals[s.BucketOf(Zipf::Id(stream[i]))];
  double worst = 0;
  uint64_t checked = 0;
  for (uint64_t b = 0; b < buckets; ++b) {
    const std::vector<HotSketch::Slot> slots = s.BucketSlots(b);
    if (slots.empty()) continue;  // z = 1.5 has few distinct ids: some buckets stay empty
    const float min_score = slots.back().score;
    bool has_hot = false;
    for (const HotSketch::Slot& slot : slots) has_hot |= slot.hot_row >= 0;
    EXPECT_LE(min_score, static_cast<double>(arrivals[b]) / slots.size());
    for (const HotSketch::Slot& slot : slots) {
      const double err = static_cast<double>(slot.score) - count[rank_of.at(slot.id)];
      EXPECT_LE(err, min_score) << "id rank " << rank_of.at(slot.id) << " in bucket " << b;
      if (!has_hot) {
        EXPECT_GE(err, 0.0) << "id rank " << rank_of.at(slot.id) << " in bucket " << b;
      }
      worst = std::max(worst, err);
      ++checked;
    }
  }
  std::printf("  z %.2f: T %.0f recall %.3f, hot %llu, worst over-estimate %.0f over %llu tracked ids\n", z, threshold,
              recall, static_cast<unsigned long long>(s.num_hot()), worst, static_cast<unsigned long long>(checked));
}

INSTANTIATE_TEST_SUITE_P(Exponents, HotSketchZipf, ::testing::Values(0.9, 1.05, 1.2, 1.5));

// Long random streams with real decay, whose popular ids are remapped every 100k arrivals (so hot sets turn
// over): invariants hold throughout, and replaying the reported promotions and demotions reproduces exactly
// the hot set HotRow reports.
TEST(HotSketch, InvariantsAfterLongRandomStreams) {
  for (uint64_t seed : {1u, 2u}) {
    HotSketch s(4096, 2000, 1.0f, 0.9f, seed);
    const Zipf zipf(200000, 1.05);
    CounterRng rng(seed, 7, 0);
    std::vector<Change> promoted, demoted;
    std::map<uint64_t, int64_t> hot;  // replayed from the change log
    uint64_t promotions = 0, demotions = 0;
    for (int i = 0; i < 1000000; ++i) {
      const uint64_t epoch = static_cast<uint64_t>(i / 100000);
      const uint64_t id = rng.Below(8) == 0 ? rng.NextU64() : Mix64(Zipf::Id(zipf.Rank(&rng)) + epoch);
      const float v = (i & 1) ? 1.0f : static_cast<float>(rng.Uniform(0.0, 3.0));
      promoted.clear();
      demoted.clear();
      s.Insert(id, v, &promoted, &demoted);
      promotions += promoted.size();
      demotions += demoted.size();
      // Within one insert the promotion comes first and the decay after it (which may demote that same id).
      for (const Change& c : promoted) {
        ASSERT_EQ(hot.count(c.id), 0u);
        hot[c.id] = c.hot_row;
      }
      for (const Change& c : demoted) {
        ASSERT_EQ(hot.count(c.id), 1u);
        ASSERT_EQ(hot[c.id], c.hot_row);
        hot.erase(c.id);
      }
      if (i % 250000 == 0) s.CheckInvariants();
    }
    s.CheckInvariants();
    EXPECT_GT(s.num_decays(), 10u);
    EXPECT_GT(promotions, 3000u);  // more than the 2000 rows: the hot set turned over
    EXPECT_GT(demotions, 1000u);
    EXPECT_EQ(s.num_hot(), hot.size());
    for (const auto& [id, row] : hot) ASSERT_EQ(s.HotRow(id), row) << id;
  }
}

}  // namespace
}  // namespace shardrec
