// Operands for the product benchmarks: uniform in [-1, 1), fixed by the seed.
#pragma once

#include <cstdint>

#include "shardrec/core/matrix.h"
#include "shardrec/core/rng.h"

namespace shardrec::bench {

inline Mat<float> RandomMatrix(int64_t rows, int64_t cols, uint64_t seed) {
  Mat<float> x(rows, cols);
  CounterRng rng(seed, 1, 0);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.Uniform(-1, 1));
  return x;
}

}  // namespace shardrec::bench
