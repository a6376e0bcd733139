// One rank's slice of a global training batch.
#pragma once

#include <cstdint>
#include <vector>

#include "shardrec/core/matrix.h"

namespace shardrec {

// One categorical feature over a batch, jagged: sample b owns
// values[offset(b) .. offset(b) + lengths[b]). lengths.size() is the batch size,
// always, also when every length is 0 — batch semantics are never ambiguous.
struct JaggedIds {
  std::vector<int32_t> lengths;
  std::vector<uint64_t> values;  // raw 64-bit ids, not yet mapped into any table
};

struct Batch {
  int64_t batch_size = 0;         // samples in this rank's slice
  int64_t first_sample = 0;       // global index of this slice's first sample in its stream
  MatF dense;                     // batch_size x num_dense, already transformed (log1p etc.)
  std::vector<JaggedIds> sparse;  // one per categorical feature
  std::vector<float> labels;      // batch_size, 0 or 1
};

}  // namespace shardrec
