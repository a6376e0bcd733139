// Ranking metrics of next-item retrieval: every user has one held-out item and
// its 1-based rank among all items.
#pragma once

#include <cstdint>
#include <vector>

namespace shardrec {

struct RankingMetrics {
  std::vector<uint32_t> ks;
  std::vector<double> hit_rate;  // HR@K: share of users with rank <= K
  std::vector<double> ndcg;      // NDCG@K: mean of 1/log2(rank + 1) over users with rank <= K (0 otherwise)
  double mrr = 0;                // mean of 1/rank
  uint64_t users = 0;
};

RankingMetrics RankingFromRanks(const std::vector<int64_t>& ranks, const std::vector<uint32_t>& ks);

// Whether an item with score s and id `item` ranks ahead of the held-out item
// (score t, id `label`): a higher score, or an equal score and a smaller id
// (a stable sort by descending score). The held-out item never ranks ahead of itself.
inline bool RanksAhead(float s, uint64_t item, float t, uint64_t label) { return s > t || (s == t && item < label); }

}  // namespace shardrec
