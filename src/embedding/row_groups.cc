#include "shardrec/embedding/row_groups.h"

#include <algorithm>

#include "shardrec/core/error.h"

namespace shardrec {
namespace {
constexpr int kDigitBits = 11;
constexpr uint32_t kDigits = 1u << kDigitBits;
}  // namespace

void RowGroups::Build(int64_t num_rows) {
  const size_t n = items_.size();
  for (const RowGrad& it : items_)
    SR_CHECK(it.row >= 0 && it.row < num_rows)
        << "gradient for row " << it.row << " of a shard of " << num_rows << " rows";
  int bits = 0;
  while (bits < 63 && (int64_t{1} << bits) < num_rows) ++bits;
  scratch_.resize(n);
  count_.resize(kDigits);
  for (int shift = 0; shift < bits; shift += kDigitBits) {
    std::fill(count_.begin(), count_.end(), 0u);
    for (const RowGrad& it : items_) ++count_[(static_cast<uint64_t>(it.row) >> shift) & (kDigits - 1)];
    uint32_t sum = 0;
    for (uint32_t& c : count_) {
      const uint32_t here = c;
      c = sum;
      sum += here;
    }
    for (const RowGrad& it : items_) scratch_[count_[(static_cast<uint64_t>(it.row) >> shift) & (kDigits - 1)]++] = it;
    items_.swap(scratch_);
  }
  rows_.clear();
  begin_.clear();
  for (size_t k = 0; k < n; ++k) {
    if (k == 0 || items_[k].row != items_[k - 1].row) {
      rows_.push_back(items_[k].row);
      begin_.push_back(static_cast<int64_t>(k));
    }
  }
  begin_.push_back(static_cast<int64_t>(n));
  dropped_.assign(rows_.size(), 0);
}

void RowGroups::Drop(int64_t row) {
  const auto it = std::lower_bound(rows_.begin(), rows_.end(), row);
  if (it != rows_.end() && *it == row) dropped_[it - rows_.begin()] = 1;
}

}  // namespace shardrec
