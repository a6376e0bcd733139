// Binary-classification metrics on explicit score/label arrays. Exact (no
// histogram binning): callers gather all predictions first.
#pragma once

#include <vector>

namespace shardrec {

// Area under the ROC curve by the rank-sum (Mann-Whitney) statistic; tied
// scores get their average rank. Returns NaN when only one class is present.
double BinaryAuc(const std::vector<float>& scores, const std::vector<float>& labels);

// Mean binary cross-entropy of probabilities (clamped to [1e-7, 1-1e-7]).
double LogLoss(const std::vector<float>& probs, const std::vector<float>& labels);

}  // namespace shardrec
