#include "suggest.h"

#include <algorithm>
#include <cctype>

namespace shardrec::config::internal {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

size_t OsaDistance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

}  // namespace

std::string ClosestName(const std::string& typo, const std::vector<std::string>& candidates) {
  const std::string t = Lower(typo);
  std::string best;
  size_t best_score = SIZE_MAX;
  for (const std::string& cand : candidates) {
    const std::string c = Lower(cand);
    const size_t dist = OsaDistance(t, c);
    const size_t longer = std::max(t.size(), c.size());
    const size_t shorter = std::min(t.size(), c.size());
    const bool close = dist <= std::max<size_t>(1, longer / 3);
    const bool contained = shorter >= 4 && (c.find(t) != std::string::npos || t.find(c) != std::string::npos);
    if ((close || contained) && dist < best_score) {
      best = cand;
      best_score = dist;
    }
  }
  return best;
}

}  // namespace shardrec::config::internal
