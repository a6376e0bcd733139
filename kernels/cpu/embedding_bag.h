// CPU embedding-bag bodies: gather-and-sum of rows, and the scatter of one
// output gradient into per-row accumulators. Rows are contiguous with stride
// `ld` floats; `cols` of them are read starting at column 0 of the row.
#pragma once

#include <cstdint>
#include <cstring>

namespace shardrec::kernels {

// Brings a row (and optionally its optimizer state) towards the cache ahead of
// use. Lookups into large tables are latency-bound random reads; issuing them a
// few rows early keeps several misses in flight.
inline void PrefetchRow(const float* row, int cols) {
  for (int c = 0; c < cols; c += 16) __builtin_prefetch(row + c, 1, 1);
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

// acc[0..cols) += g[0..cols)
inline void AddRow(float* acc, const float* g, int cols) {
#pragma omp simd
  for (int c = 0; c < cols; ++c) acc[c] += g[c];
}

}  // namespace shardrec::kernels
