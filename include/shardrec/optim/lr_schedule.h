// Learning rate as a function of the global step.
#pragma once

#include <cstdint>

#include "config.pb.h"

namespace shardrec {

// lr(step), step being 0-based:
//   warm-up:  lr * step / warmup_steps for step < warmup_steps (so step 0 runs at 0 and
//             step warmup_steps is the first at the peak);
//   hold:     lr until the decay starts, at max(decay_start, warmup_steps);
//   decay:    lr * (m + (1 - m) * f(p)), m = min_lr_ratio, p = (step - start) / (total_steps - start)
//             clamped to [0, 1], f = 1 (CONSTANT), 1 - p (LINEAR), (1 + cos(pi p)) / 2 (COSINE),
//             (1 - p)^2 (POLYNOMIAL); it reaches lr * m at step total_steps, one past the last.
class LrSchedule {
 public:
  // Throws shardrec::Error naming the optimizer.* key on invalid values.
  LrSchedule(const config::DenseOptimizerConfig& config, uint64_t total_steps);

  double LearningRate(uint64_t step) const;

 private:
  double lr_;
  uint64_t warmup_;
  config::LrDecay decay_;
  uint64_t decay_start_;
  double min_ratio_;
  uint64_t total_steps_;
};

}  // namespace shardrec
