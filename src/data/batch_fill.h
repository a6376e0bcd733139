// Filling a Batch in place, reusing its allocations from the previous step.
#pragma once

#include <cstdint>

#include "shardrec/data/batch.h"

namespace shardrec::data_internal {

// Sizes `b` for up to `capacity` rows and empties its vectors (keeping capacity).
inline void ResetBatch(Batch* b, int64_t capacity, int num_dense, int num_sparse) {
  b->dense.resize(capacity, num_dense);
  b->labels.clear();
  b->labels.reserve(static_cast<size_t>(capacity));
  b->sparse.resize(static_cast<size_t>(num_sparse));
  for (JaggedIds& j : b->sparse) {
    j.lengths.clear();
    j.values.clear();
    j.lengths.reserve(static_cast<size_t>(capacity));
    j.values.reserve(static_cast<size_t>(capacity));
  }
  b->batch_size = 0;
}

// Trims the dense rows to the rows actually filled (fewer when lines were skipped).
inline void FinishBatch(Batch* b, int64_t rows, int64_t first_sample) {
  if (b->dense.rows() != rows) b->dense.conservativeResize(rows, b->dense.cols());
  b->batch_size = rows;
  b->first_sample = first_sample;
}

}  // namespace shardrec::data_internal
