// Sparse optimizers for embedding rows, applied at the shard that owns a row,
// once per step, to the row's gradient summed over the whole global batch.
#pragma once

#include <cstdint>

#include "common/sparse_update.h"
#include "config.pb.h"

namespace shardrec {

class SparseOptimizer {
 public:
  explicit SparseOptimizer(const config::SparseOptimizerConfig& cfg);

  config::SparseOptimizerType type() const { return cfg_.type(); }
  // Floats of optimizer state kept per row of `cols` columns.
  int StateFloatsPerRow(int cols) const { return kernels::StateFloatsPerRow(rule_, cols); }
  // Initial value of every state float (the Adagrad accumulator's start; 0 for Adam).
  float InitialState() const;
  // Hyper-parameters for one step (`step` is 0-based; it sets Adam's bias correction).
  kernels::SparseHyper Hyper(uint64_t step) const;
  // Updates one row in place: `weights` is a float* (fp32 rows) or a row view
  // of kernels/common/sparse_update.h. Inline: it runs once per touched row,
  // and the compiler hoists the rule's switch out of the caller's loop.
  template <typename Row>
  SR_FORCE_INLINE void Apply(const kernels::SparseHyper& h, Row weights, float* state, const float* grad,
                             int cols) const {
    kernels::ApplyRule(rule_, weights, state, grad, cols, h);
  }

 private:
  config::SparseOptimizerConfig cfg_;
  kernels::SparseRule rule_;
};

}  // namespace shardrec
