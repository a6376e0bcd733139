// Embedding-bag kernels on a CUDA device: the gather-sum of
// kernels/cpu/embedding_bag.h and the row updates of
// kernels/common/sparse_update.h, run on device memory. The arithmetic is
// those same bodies, compiled without contracting a*b+c into FMAs (see
// src/cuda/CMakeLists.txt), so results equal the CPU path's bit for bit.
// Every pointer is device memory; kernels are queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/sparse_update.h"

namespace shardrec::cuda {

enum class RowFormat { kFp32, kBf16, kFp16 };

// A table of rows in device memory: row r is `dim` values of `format` at
// data + r * ld values.
struct DeviceRows {
  void* data;
  RowFormat format;
  int64_t ld;
  int dim;
};

// Sum pooling: out[b * dim + c] = sum over k in [offsets[b], offsets[b + 1])
// of table row rows[k], column c, summed in k order from zero, in fp32.
// offsets has bags + 1 entries; rows are indices into the table.
void PoolBags(const DeviceRows& table, const int64_t* rows, const int64_t* offsets, int64_t bags, float* out,
              cudaStream_t stream);

// One step of `rule` on each of n distinct rows: row rows[u] gets gradient
// grads[u * dim .. u * dim + dim) and keeps its optimizer state at
// state + rows[u] * StateFloatsPerRow(rule, dim). A 16-bit row rounds column c
// with RoundingBits(keys[u], first_col + c), as the CPU shards do (keys may be
// null for fp32 rows). Rows must be distinct: the owner de-duplicates and sums
// a row's gradients first, as on the CPU, so no two threads share a row.
void ApplyRowUpdates(const DeviceRows& table, kernels::SparseRule rule, const kernels::SparseHyper& h,
                     const int64_t* rows, const float* grads, int64_t n, float* state, const uint32_t* keys,
                     uint32_t first_col, cudaStream_t stream);

}  // namespace shardrec::cuda
