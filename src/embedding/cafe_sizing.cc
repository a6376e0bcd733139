#include "shardrec/embedding/cafe_sizing.h"

#include <cmath>

#include "shardrec/core/error.h"

namespace shardrec {
namespace {

// Bytes of sketch the paper charges per hot row, and what HotSketch spends per bucket and per hot row (free
// list); see the header for why buckets = floor((48 - 4) * hot_rows / 64).
constexpr double kSketchBytesPerHotRow = 48.0;
constexpr uint64_t kBucketBytes = 64;
constexpr uint64_t kFreeListBytesPerHotRow = 4;
// Fields this small (relative to CR) stay full: the paper's rule.
constexpr double kFullRowsPerCr = 2000.0;

struct CrEntry {
  double cr;
  float threshold;
  double hash_share;
};
constexpr CrEntry kTable[] = {{2, 10, 0.7},     {5, 10, 0.5},     {10, 20, 0.5},    {20, 30, 0.5},
                              {50, 50, 0.3},    {100, 100, 0.3},  {200, 200, 0.2},  {500, 500, 0.2},
                              {1000, 500, 0.2}, {2000, 500, 0.1}, {5000, 500, 0.1}, {10000, 500, 0.1}};

}  // namespace

CafeSizes ComputeCafeSizes(uint64_t n, int d, double cr, double h) {
  SR_CHECK(d >= 1) << "CAFE sizing: dim must be >= 1, got " << d;
  SR_CHECK(cr >= 1.0 && std::isfinite(cr)) << "CAFE sizing: compression ratio must be >= 1, got " << cr;
  SR_CHECK(h > 0.0 && h <= 1.0) << "CAFE sizing: hash share must be in (0, 1], got " << h;
  CafeSizes s{};
  const double row_bytes = 4.0 * d;
  const double hot_row_bytes = row_bytes + kSketchBytesPerHotRow;
  s.budget_bytes = row_bytes * static_cast<double>(n) / cr;
  if (static_cast<double>(n) <= kFullRowsPerCr * cr) {
    s.full = true;
    s.allocated_bytes = row_bytes * static_cast<double>(n);
    return s;
  }
  s.full = false;
  s.hot_rows = static_cast<uint64_t>(std::floor((1.0 - h) * s.budget_bytes / hot_row_bytes));
  // The hash table gets everything the hot rows leave, so flooring the hot count does not waste budget.
  s.hash_rows = static_cast<uint64_t>(std::floor((s.budget_bytes - s.hot_rows * hot_row_bytes) / row_bytes));
  // Guard against a last-ulp rounding pushing the identity over the budget.
  while (s.hash_rows > 0 && s.hot_rows * hot_row_bytes + s.hash_rows * row_bytes > s.budget_bytes) --s.hash_rows;
  const uint64_t sketch_bytes = static_cast<uint64_t>(kSketchBytesPerHotRow) - kFreeListBytesPerHotRow;
  s.sketch_buckets = s.hot_rows * sketch_bytes / kBucketBytes;
  if (s.sketch_buckets < 1) s.sketch_buckets = 1;
  s.allocated_bytes = s.hot_rows * row_bytes + s.hash_rows * row_bytes +
                      static_cast<double>(s.sketch_buckets * kBucketBytes + s.hot_rows * kFreeListBytesPerHotRow);
  return s;
}

CafeDefaults CafeDefaultsFor(double cr) {
  SR_CHECK(cr >= 1.0) << "CAFE defaults: compression ratio must be >= 1, got " << cr;  // NaN fails too
  for (const CrEntry& e : kTable) {
    if (cr <= e.cr) return {e.threshold, e.hash_share};
  }
  const CrEntry& last = kTable[sizeof(kTable) / sizeof(kTable[0]) - 1];
  return {last.threshold, last.hash_share};
}

}  // namespace shardrec
