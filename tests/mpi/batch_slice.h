// Test helper: rank r's slice of a global batch, by the data layer's slicing
// rule (samples [G*r/N, G*(r+1)/N)), with first_sample set.
#pragma once

#include "shardrec/data/batch.h"

namespace shardrec::testing {

inline Batch SliceGlobalBatch(const Batch& g, int rank, int world) {
  const int64_t lo = g.batch_size * rank / world, hi = g.batch_size * (rank + 1) / world;
  Batch b;
  b.batch_size = hi - lo;
  b.first_sample = lo;
  b.sparse.resize(g.sparse.size());
  for (size_t f = 0; f < g.sparse.size(); ++f) {
    size_t start = 0;
    for (int64_t i = 0; i < lo; ++i) start += g.sparse[f].lengths[i];
    for (int64_t i = lo; i < hi; ++i) {
      const int len = g.sparse[f].lengths[i];
      b.sparse[f].lengths.push_back(len);
      b.sparse[f].values.insert(b.sparse[f].values.end(), g.sparse[f].values.begin() + start,
                                g.sparse[f].values.begin() + start + len);
      start += len;
    }
  }
  return b;
}

}  // namespace shardrec::testing
