// Where batches come from. A source yields this rank's slices of consecutive
// global batches: for global batch k of size G on N ranks, rank r gets the
// samples [k*G + r*G/N, k*G + (r+1)*G/N) of the stream. So the union over ranks
// of one step is the same global batch whatever N is.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shardrec/data/batch.h"

namespace shardrec {

struct DataStats {
  uint64_t lines_read = 0;
  uint64_t malformed_skipped = 0;
  // reason -> count, e.g. "wrong field count" -> 3
  std::vector<std::pair<std::string, uint64_t>> malformed_by_reason;
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  // Fills `out` with this rank's slice of the next global batch. Returns false
  // when the stream is exhausted (evaluation sources end; training sources wrap
  // around to the next epoch and never end).
  virtual bool Next(Batch* out) = 0;
  virtual int num_dense() const = 0;
  virtual int num_sparse() const = 0;
  // Distinct ids per categorical feature when known (synthetic data), else 0.
  virtual std::vector<uint64_t> cardinalities() const = 0;
  virtual DataStats stats() const = 0;
};

}  // namespace shardrec
