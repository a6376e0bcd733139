// Full-ranking evaluation against a sharded item table: every query's held-out
// item is ranked among ALL items, each rank scoring only the item rows it
// holds, so the table is never gathered. Two protocols:
//   all_items   — every item competes (the HSTU paper's protocol);
//   seen_zeroed — items the user interacted with before get score 0 before
//                 ranking (the protocol of S3-Rec / ICLRec on the Amazon files).
// Ties are broken by item id (RanksAhead), item 0 is never an item.
#pragma once

#include <cstdint>
#include <vector>

#include "shardrec/comm/communicator.h"
#include "shardrec/core/matrix.h"
#include "shardrec/embedding/sharded_collection.h"

namespace shardrec {

struct RankQueries {
  MatF users;                       // b x dim, unit rows
  std::vector<float> label_scores;  // b: users.row(q) . normalised embedding of labels[q]
  std::vector<uint64_t> labels;     // b held-out items
  std::vector<int64_t> seen_offsets{0};
  std::vector<uint64_t> seen;  // jagged: items seen before the held-out one
};

struct FullRanks {
  std::vector<int64_t> all_items;  // 1-based rank per query, every rank's queries in rank order
  std::vector<int64_t> seen_zeroed;
};

class FullRanker {
 public:
  // Snapshots this rank's rows of `table` (items 1..max_item_id live in rows of
  // the same number), L2-normalised. Take a new one after the table changes.
  FullRanker(const ShardedEmbeddingCollection& embedding, int table, uint64_t max_item_id);

  // Collective: every rank passes its own queries (possibly none) and gets the
  // ranks of all of them.
  FullRanks Rank(Communicator& comm, const RankQueries& mine) const;

 private:
  struct Block {
    uint64_t first_row;
    MatF rows;  // normalised
  };
  uint64_t max_item_id_;
  int dim_;
  std::vector<Block> blocks_;
};

}  // namespace shardrec
