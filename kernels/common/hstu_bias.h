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
struct HstuBucketTable {
  int64_t thresholds[kHstuTimeBuckets];
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
  return t;
}

SR_HOST_DEVICE inline int HstuTimeBucket(const HstuBucketTable& table, int64_t dt) {
  const int64_t a = dt < 0 ? -dt : dt;
  int lo = 0, hi = kHstuTimeBuckets - 1;  // the largest b with thresholds[b] <= a
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (table.thresholds[mid] <= a) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
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

// Logistic function that never overflows exp.
template <typename T>
SR_HOST_DEVICE inline T SigmoidOf(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// SiLU and its derivative at s: silu(s) = s * sigmoid(s).
template <typename T>
SR_HOST_DEVICE inline T Silu(T s) {
  return s * SigmoidOf(s);
}
template <typename T>
SR_HOST_DEVICE inline T SiluGrad(T s) {
  const T g = SigmoidOf(s);
  return g * (T(1) + s * (T(1) - g));
}

}  // namespace shardrec::kernels
