// HotSketch: the heavy-hitter structure of CAFE (models.md §4). It tracks the
// importance score of the ids of one table (or shard) in `s` buckets of 4
// slots and decides which ids are "hot", i.e. own a unique embedding row out of
// a fixed pool of `num_hot_rows` rows; every other id falls back to hashed rows.
//
// Layout: one 64-byte, cache-line-aligned bucket per hash value holding the 4
// ids, 4 scores and 4 row numbers, so both a lookup (HotRow) and an insert
// touch exactly one cache line. Slots inside a bucket are kept sorted by score,
// descending, with empty slots last; the minimum is therefore always the last
// occupied slot, which makes Space-Saving replacement O(1).
//
// Not thread-safe: one writer, and readers only between writes (the training
// step order of the spec — forward reads, then the inserts — gives exactly that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "shardrec/core/rng.h"

namespace shardrec {

class HotSketch {
 public:
  static constexpr int kSlots = 4;

  // A promotion (id got hot_row) or a demotion (id lost hot_row).
  struct Change {
    uint64_t id;
    int64_t hot_row;
  };

  // An occupied slot, as seen by BucketSlots (tests and debugging).
  struct Slot {
    uint64_t id;
    float score;
    int64_t hot_row;  // -1 when not hot
  };

  // num_buckets >= 1 buckets x 4 slots; at most num_hot_rows (< 2^31) ids hold a hot row at once, rows
  // 0..num_hot_rows-1. threshold T > 0; decay in (0, 1] (1 disables decay but keeps the demotion check).
  // seed keys the bucket hash, so two tables (or two runs with different seeds) collide differently.
  HotSketch(uint64_t num_buckets, uint64_t num_hot_rows, float threshold, float decay = 0.99f, uint64_t seed = 0);

  // One arrival of `id` with importance v >= 0 (finite), exactly as models.md §4 says:
  //  1. id present: score += v; if now score >= T, not hot, and a free row exists -> promote it.
  //  2. else an empty slot exists: store (id, v).
  //  3. else if the bucket's minimum slot is not hot: Space-Saving replacement — the slot takes the new id and
  //     score = old score + v (inherited, so estimates err high rather than low; no promotion on this path, the
  //     id is promoted on its next arrival if it deserves it).
  //     When several slots share the minimum score, a non-hot one among them is taken.
  //  4. else (the minimum is hot) drop the arrival: hot slots are never replaced.
  // Then, if the total v inserted since the last decay (every arrival counts, dropped ones too: it measures
  // stream volume) exceeds 10*s*T, every score is multiplied by decay and hot slots whose score fell below T
  // are demoted; their rows return to the free list. Promotions and demotions are appended to the vectors
  // (either may be null when the caller does not need them). The sketch itself never allocates here; only the
  // caller's change vectors may grow (reserve them once to avoid that too).
  void Insert(uint64_t id, float v, std::vector<Change>* promoted, std::vector<Change>* demoted);

  // Hot row of `id`, -1 when it is not hot. One cache line, no branches on the slot contents.
  int64_t HotRow(uint64_t id) const {
    const Bucket& b = buckets_[BucketOf(id)];
    // An empty slot may hold a stale id equal to `id`; its row (kEmpty) loses the max to the -1 start value,
    // and an id occupies at most one slot, so the max is the right answer.
    int32_t row = kNotHot;
    for (int i = 0; i < kSlots; ++i) row = b.id[i] == id && b.row[i] > row ? b.row[i] : row;
    return row;
  }

  // Current (decayed) score of `id`, 0 when it is not in the sketch. The multi-level tiers use it
  // (medium: T2 <= score < T1).
  float Score(uint64_t id) const {
    const Bucket& b = buckets_[BucketOf(id)];
    float score = 0.0f;
    for (int i = 0; i < kSlots; ++i) score = b.id[i] == id && b.row[i] != kEmpty ? b.score[i] : score;
    return score;
  }

  // Bucket of `id`: Mix64 of the seeded id, mapped to [0, s) by a multiply-high (no division on the hot path).
  uint64_t BucketOf(uint64_t id) const {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Mix64(id ^ seed_key_)) * num_buckets_) >> 64);
  }

  // Hint for batched callers: fetch the bucket of `id` a few ids ahead of the HotRow/Insert that needs it.
  void Prefetch(uint64_t id) const { __builtin_prefetch(&buckets_[BucketOf(id)]); }

  // Occupied slots of one bucket, in stored (score-descending) order.
  std::vector<Slot> BucketSlots(uint64_t bucket) const;

  uint64_t free_hot_rows() const { return free_rows_.size(); }
  uint64_t num_hot() const { return num_hot_rows_ - free_rows_.size(); }
  uint64_t num_buckets() const { return num_buckets_; }
  uint64_t num_hot_rows() const { return num_hot_rows_; }
  float threshold() const { return threshold_; }
  float decay() const { return decay_; }
  uint64_t seed() const { return seed_; }
  // Decays performed so far, and the v inserted since the last one (the trigger is > 10*s*T).
  uint64_t num_decays() const { return num_decays_; }
  double inserted_since_decay() const { return inserted_since_decay_; }

  // Bytes really allocated: the bucket array, the free-row list and the object itself.
  size_t MemoryBytes() const;

  // Binary state, exact round trip (scores, slot order, free-list order, decay accumulator). Load requires the
  // stream's num_buckets, num_hot_rows and seed to equal this sketch's (they fix where ids live and the size of
  // the hot table the caller allocated) and takes threshold and decay from the stream. A truncated or corrupt
  // stream, or a mismatch, throws Error naming `what`; the sketch is unchanged then.
  void Save(std::ostream& out) const;
  void Load(std::istream& in, const std::string& what);

  // Checks every invariant and throws Error describing the first violation: occupied slots before empty ones,
  // scores sorted descending, every id in the bucket its hash names, ids unique, hot rows in range and unique
  // and disjoint from the free list, free + hot == num_hot_rows. O(s + num_hot_rows); for tests and Load.
  void CheckInvariants() const;

 private:
  static constexpr int32_t kNotHot = -1;
  static constexpr int32_t kEmpty = -2;

  // One cache line: 4 ids, 4 scores, 4 rows (>= 0 hot row, kNotHot, or kEmpty).
  struct alignas(64) Bucket {
    uint64_t id[kSlots];
    float score[kSlots];
    int32_t row[kSlots];
  };
  static_assert(sizeof(Bucket) == 64, "a bucket must be exactly one cache line");

  void Decay(std::vector<Change>* demoted);
  void CheckInvariantsOf(const std::vector<Bucket>& buckets, const std::vector<int32_t>& free_rows) const;

  uint64_t num_buckets_;
  uint64_t num_hot_rows_;
  float threshold_;
  float decay_;
  uint64_t seed_;
  uint64_t seed_key_;
  double decay_trigger_;             // 10 * s * T
  double inserted_since_decay_ = 0;  // double: exact for integer v far beyond float's 2^24
  uint64_t num_decays_ = 0;
  std::vector<Bucket> buckets_;     // C++17 aligned new honours alignas(64)
  std::vector<int32_t> free_rows_;  // a stack; capacity num_hot_rows, so pushes never allocate
};

}  // namespace shardrec
