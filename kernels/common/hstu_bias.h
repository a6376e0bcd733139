// HSTU's relative attention bias and masks, index by index: the one body of
// arithmetic used by the CPU attention and (compiled by nvcc) the CUDA kernel.
//
// For a sequence of length L whose last `num_targets` tokens are candidates
// (h = L - num_targets history tokens), with N the padded maximum length:
//   pos(i)         = min(i, h)                       candidates share position h
//   bias_pos(i, j) = w_p[N - 1 + pos(j) - pos(i)]    w_p has 2N - 1 entries
//   tq(i)          = t[min(i + 1, h - 1)] for history, t[i] for a candidate
//                    (the next history token's time; with no candidates this
//                    is the paper's t[min(i + 1, L - 1)]. Candidates use their
//                    own time so that history never depends on candidates nor
//                    a candidate on another: KV-cached scoring equals a full
//                    forward, and scoring candidates together equals one by one)
//   bucket(i, j)   = clamp(floor(ln(max(|tq(i) - t[j]|, 1)) / 0.301), 0, 128)
//   visible(i, j)  = j <= i among history; a candidate sees all history and itself.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/host_device.h"

namespace shardrec::kernels {

constexpr int kHstuTimeBuckets = 129;  // buckets 0..128
constexpr double kHstuBucketWidth = 0.301;

// The bucket by its defining formula (double precision, as the reference does).
SR_HOST_DEVICE inline int HstuTimeBucketByFormula(int64_t dt) {
  const int64_t a = dt < 0 ? -dt : dt;
  const double b = std::floor(std::log(static_cast<double>(a < 1 ? 1 : a)) / kHstuBucketWidth);
  return b < 0 ? 0 : (b > kHstuTimeBuckets - 1 ? kHstuTimeBuckets - 1 : static_cast<int>(b));
}

// Same value without a logarithm: thresholds[b] is the smallest |dt| whose
// bucket is >= b (thresholds[0] = 0), found once from the formula itself, so the
// two agree exactly; the attention calls this L^2 times per sequence.
//
// Lookup is O(1): |dt| in [2^e, 2^(e+1)) spans ln 2 / 0.301 = 2.3 buckets, so
// starting from the bucket of 2^e (first_of_log2[e]) at most 3 more thresholds
// can be crossed. `bounds` is thresholds widened to unsigned, padded with
// values no |dt| reaches so the 3 tests never read past the array.
struct HstuBucketTable {
  int64_t thresholds[kHstuTimeBuckets];
  uint64_t bounds[kHstuTimeBuckets + 3];
  uint8_t first_of_log2[64];
};

inline HstuBucketTable MakeHstuBucketTable() {
  HstuBucketTable t{};
  t.thresholds[0] = 0;
  for (int b = 1; b < kHstuTimeBuckets; ++b) {
    // The formula is nondecreasing in |dt|: binary search its first b.
    int64_t lo = t.thresholds[b - 1], hi = INT64_MAX;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (HstuTimeBucketByFormula(mid) >= b) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    t.thresholds[b] = lo;
  }
  for (int b = 0; b < kHstuTimeBuckets + 3; ++b)
    t.bounds[b] = b < kHstuTimeBuckets ? static_cast<uint64_t>(t.thresholds[b]) : UINT64_MAX;
  for (int e = 0; e < 64; ++e) {
    const uint64_t a = uint64_t{1} << e;  // its bucket: the last threshold <= a
    int b = 0;
    while (b + 1 < kHstuTimeBuckets && t.bounds[b + 1] <= a) ++b;
    t.first_of_log2[e] = static_cast<uint8_t>(b);
  }
  return t;
}

SR_HOST_DEVICE inline int FloorLog2(uint64_t a) {  // a > 0
#if defined(__CUDA_ARCH__)
  return 63 - __clzll(static_cast<long long>(a));
#else
  return 63 - __builtin_clzll(a);
#endif
}

// |dt| in unsigned arithmetic: -INT64_MIN does not fit an int64_t.
SR_HOST_DEVICE inline uint64_t HstuAbsDt(int64_t dt) {
  return dt < 0 ? uint64_t{0} - static_cast<uint64_t>(dt) : static_cast<uint64_t>(dt);
}

// Bucket b holds the |dt| in [table.bounds[b], table.bounds[b + 1]).
SR_HOST_DEVICE inline int HstuTimeBucket(const HstuBucketTable& table, int64_t dt) {
  const uint64_t a = HstuAbsDt(dt);
  const int b = table.first_of_log2[FloorLog2(a | 1)];  // |dt| 0 and 1 share bucket 0
  // The bounds ascend, so the three tests count the thresholds crossed; being
  // independent of each other, they run side by side.
  return b + (a >= table.bounds[b + 1]) + (a >= table.bounds[b + 2]) + (a >= table.bounds[b + 3]);
}

SR_HOST_DEVICE inline int HstuPosition(int i, int history) { return i < history ? i : history; }

SR_HOST_DEVICE inline int HstuPositionBiasIndex(int i, int j, int history, int max_len) {
  return max_len - 1 + HstuPosition(j, history) - HstuPosition(i, history);
}

SR_HOST_DEVICE inline bool HstuVisible(int i, int j, int history) {
  return i < history ? j <= i : (j < history || j == i);
}

// Index of the timestamp the query of token i compares against.
SR_HOST_DEVICE inline int HstuQueryTimeIndex(int i, int history) {
  if (i >= history) return i;
  return i + 1 < history ? i + 1 : history - 1;
}

}  // namespace shardrec::kernels
