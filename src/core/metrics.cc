#include "shardrec/core/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "shardrec/core/error.h"

namespace shardrec {

double BinaryAuc(const std::vector<float>& scores, const std::vector<float>& labels) {
  SR_CHECK(scores.size() == labels.size()) << scores.size() << " scores vs " << labels.size() << " labels";
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of (1-based, tie-averaged) ranks of the positives.
  double rank_sum = 0.0;
  double positives = 0.0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) {
      if (labels[order[k]] > 0.5f) {
        rank_sum += avg_rank;
        positives += 1.0;
      }
    }
    i = j + 1;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0.0 || negatives == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives);
}

double LogLoss(const std::vector<float>& probs, const std::vector<float>& labels) {
  SR_CHECK(probs.size() == labels.size()) << probs.size() << " probabilities vs " << labels.size() << " labels";
  if (probs.empty()) return std::numeric_limits<double>::quiet_NaN();
  double total = 0.0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const double p = std::clamp(static_cast<double>(probs[i]), 1e-7, 1.0 - 1e-7);
    total += labels[i] > 0.5f ? -std::log(p) : -std::log(1.0 - p);
  }
  return total / static_cast<double>(probs.size());
}

}  // namespace shardrec
