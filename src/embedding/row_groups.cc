#include "shardrec/embedding/row_groups.h"

#include <algorithm>

#include "shardrec/core/error.h"

namespace shardrec {
namespace {
constexpr int kDigitBits = 11;
constexpr uint32_t kDigits = 1u << kDigitBits;

uint32_t Digit(int64_t row, int shift) {
  return static_cast<uint32_t>(static_cast<uint64_t>(row) >> shift) & (kDigits - 1);
}

// One stable counting-sort pass of src into dst by the digit at `shift`, whose
// counts Build has already taken. Locals only, so the compiler knows the
// stores into dst touch neither the offsets nor src. (A version splitting each
// pass over two threads was slower: the threads' runs of each digit meet
// inside shared cache lines.)
void SortPass(const RowGrad* src, size_t n, int shift, const uint32_t* counts, RowGrad* dst) {
  uint32_t offset[kDigits];
  uint32_t sum = 0;
  for (uint32_t d = 0; d < kDigits; ++d) {
    offset[d] = sum;
    sum += counts[d];
  }
  for (size_t k = 0; k < n; ++k) dst[offset[Digit(src[k].row, shift)]++] = src[k];
}
}  // namespace

void RowGroups::Build(int64_t num_rows) {
  const size_t n = items_.size();
  int bits = 0;
  while (bits < 63 && (int64_t{1} << bits) < num_rows) ++bits;
  const int passes = (bits + kDigitBits - 1) / kDigitBits;
  // One read of the items checks every row and counts the digits of every
  // pass (each pass then reads its input once, to scatter it).
  thread_local std::vector<uint32_t> counts;
  counts.assign(static_cast<size_t>(passes) * kDigits, 0);
  uint32_t* c = counts.data();
  bool in_range = true;
  for (const RowGrad& it : items_) {
    in_range &= it.row >= 0 && it.row < num_rows;
    for (int p = 0; p < passes; ++p) ++c[p * kDigits + Digit(it.row, p * kDigitBits)];
  }
  if (!in_range) {
    for (const RowGrad& it : items_)
      SR_CHECK(it.row >= 0 && it.row < num_rows)
          << "gradient for row " << it.row << " of a shard of " << num_rows << " rows";
  }
  scratch_.resize(n);
  for (int p = 0; p < passes; ++p) {
    SortPass(items_.data(), n, p * kDigitBits, c + p * kDigits, scratch_.data());
    items_.swap(scratch_);
  }
  // Group boundaries, written through raw pointers into arrays that only ever
  // grow (push_back would reload the vector's bounds after every store).
  if (rows_.size() < n) rows_.resize(n);
  if (begin_.size() < n + 1) begin_.resize(n + 1);
  const RowGrad* items = items_.data();
  int64_t* rows = rows_.data();
  int64_t* begin = begin_.data();
  int64_t groups = 0;
  for (size_t k = 0; k < n; ++k) {
    if (k == 0 || items[k].row != items[k - 1].row) {
      rows[groups] = items[k].row;
      begin[groups] = static_cast<int64_t>(k);
      ++groups;
    }
  }
  begin[groups] = static_cast<int64_t>(n);
  groups_ = groups;
  dropped_.assign(static_cast<size_t>(groups), 0);
}

void RowGroups::Drop(int64_t row) {
  const auto end = rows_.begin() + groups_;
  const auto it = std::lower_bound(rows_.begin(), end, row);
  if (it != end && *it == row) dropped_[it - rows_.begin()] = 1;
}

}  // namespace shardrec
