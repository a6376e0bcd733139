// CPU embedding-bag bodies: gather-and-sum of rows, and the scatter of one
// output gradient into per-row accumulators. Rows are contiguous with stride
// `ld` values; `cols` of them are read starting at column 0 of the row.
#pragma once

#include <cstdint>
#include <cstring>

#include "common/half_bits.h"

namespace shardrec::kernels {

// Brings a row (and optionally its optimizer state) towards the cache ahead of
// use. Lookups into large tables are latency-bound random reads; issuing them a
// few rows early keeps several misses in flight.
inline void PrefetchRow(const void* row, int bytes) {
  // Every line the row touches: an unaligned row (a gradient row in a
  // malloc'ed buffer, a 16-bit row) spans one line more than bytes / 64.
  const uintptr_t first = reinterpret_cast<uintptr_t>(row) & ~uintptr_t{63};
  const uintptr_t last = reinterpret_cast<uintptr_t>(row) + static_cast<uintptr_t>(bytes) - 1;
  for (uintptr_t line = first; line <= last; line += 64) __builtin_prefetch(reinterpret_cast<const void*>(line), 1, 1);
}

// out[0..cols) = sum over k of table[rows[k]*ld + 0..cols)
inline void PoolRowsSum(const float* table, int64_t ld, const int64_t* rows, int64_t n, int cols, float* out) {
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(cols));
  for (int64_t k = 0; k < n; ++k) {
    const float* r = table + rows[k] * ld;
#pragma omp simd
    for (int c = 0; c < cols; ++c) out[c] += r[c];
  }
}

// The same over 16-bit rows: each value widened exactly, sums in fp32.
template <HalfType kType>
inline void PoolRowsSum(const uint16_t* table, int64_t ld, const int64_t* rows, int64_t n, int cols, float* out) {
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(cols));
  for (int64_t k = 0; k < n; ++k) {
    const uint16_t* r = table + rows[k] * ld;
    if constexpr (kType == HalfType::kBf16) {
#pragma omp simd
      for (int c = 0; c < cols; ++c) out[c] += FloatFromBf16(r[c]);
    } else {
#pragma omp simd
      for (int c = 0; c < cols; ++c) out[c] += FloatFromFp16(r[c]);
    }
  }
}

// acc[0..cols) += g[0..cols)
inline void AddRow(float* acc, const float* g, int cols) {
#pragma omp simd
  for (int c = 0; c < cols; ++c) acc[c] += g[c];
}

}  // namespace shardrec::kernels
