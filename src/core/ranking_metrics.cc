#include "shardrec/core/ranking_metrics.h"

#include <cmath>

#include "shardrec/core/error.h"

namespace shardrec {

RankingMetrics RankingFromRanks(const std::vector<int64_t>& ranks, const std::vector<uint32_t>& ks) {
  RankingMetrics m;
  m.ks = ks;
  m.hit_rate.assign(ks.size(), 0.0);
  m.ndcg.assign(ks.size(), 0.0);
  m.users = ranks.size();
  if (ranks.empty()) return m;
  for (int64_t r : ranks) {
    SR_CHECK(r >= 1) << "ranking metrics: rank " << r << " is not 1-based";
    const double gain = 1.0 / std::log2(static_cast<double>(r) + 1.0);
    for (size_t k = 0; k < ks.size(); ++k) {
      if (r <= static_cast<int64_t>(ks[k])) {
        m.hit_rate[k] += 1.0;
        m.ndcg[k] += gain;
      }
    }
    m.mrr += 1.0 / static_cast<double>(r);
  }
  const double n = static_cast<double>(ranks.size());
  for (size_t k = 0; k < ks.size(); ++k) {
    m.hit_rate[k] /= n;
    m.ndcg[k] /= n;
  }
  m.mrr /= n;
  return m;
}

}  // namespace shardrec
