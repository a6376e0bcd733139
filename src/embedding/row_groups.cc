#include "shardrec/embedding/row_groups.h"

#include <omp.h>

#include <algorithm>
#include <atomic>

#include "shardrec/core/error.h"

namespace shardrec {
namespace {
constexpr int kDigitBits = 11;
constexpr uint32_t kDigits = 1u << kDigitBits;
// Below this many occurrences a second thread costs more than it saves.
constexpr size_t kParallelFrom = 16384;

uint32_t Digit(int64_t row, int shift) { return (static_cast<uint64_t>(row) >> shift) & (kDigits - 1); }
}  // namespace

void RowGroups::Build(int64_t num_rows) {
  const size_t n = items_.size();
  int bits = 0;
  while (bits < 63 && (int64_t{1} << bits) < num_rows) ++bits;
  scratch_.resize(n);
  const int threads = n >= kParallelFrom ? std::max(1, omp_get_max_threads()) : 1;
  // count_[t * kDigits + d]: occurrences of digit d in thread t's slice, then
  // where that slice's first d goes. Slices are contiguous and offsets run
  // digit-major, thread-minor, so each pass is a stable counting sort.
  count_.assign(static_cast<size_t>(threads) * kDigits, 0u);
  std::atomic<bool> bad{false};
  std::atomic<int64_t> bad_row{0};
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    RowGrad* src = items_.data();  // each thread's own view of which buffer is which
    RowGrad* dst = scratch_.data();
    const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
    uint32_t* mine = count_.data() + static_cast<size_t>(t) * kDigits;
    for (size_t k = lo; k < hi; ++k)
      if (src[k].row < 0 || src[k].row >= num_rows) {
        bad_row.store(src[k].row, std::memory_order_relaxed);
        bad.store(true, std::memory_order_relaxed);
      }
#pragma omp barrier
    for (int shift = 0; shift < bits && !bad.load(std::memory_order_relaxed); shift += kDigitBits) {
      std::fill(mine, mine + kDigits, 0u);
      for (size_t k = lo; k < hi; ++k) ++mine[Digit(src[k].row, shift)];
#pragma omp barrier
#pragma omp single
      {
        uint32_t sum = 0;
        for (uint32_t d = 0; d < kDigits; ++d) {
          for (int u = 0; u < threads; ++u) {
            uint32_t& c = count_[static_cast<size_t>(u) * kDigits + d];
            const uint32_t here = c;
            c = sum;
            sum += here;
          }
        }
      }  // implicit barrier
      for (size_t k = lo; k < hi; ++k) dst[mine[Digit(src[k].row, shift)]++] = src[k];
#pragma omp barrier
      std::swap(src, dst);
    }
  }
  SR_CHECK(!bad.load()) << "gradient for row " << bad_row.load() << " of a shard of " << num_rows << " rows";
  const int passes = (bits + kDigitBits - 1) / kDigitBits;
  if (passes % 2 == 1) items_.swap(scratch_);
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
