// Dynamic loss scaling for FP16 compute: the loss gradient is multiplied by a
// scale S before backward so small gradients survive fp16's range, and the
// gradients are divided by S before any update. A step whose gradients
// overflow (inf/NaN) is skipped — nothing is applied — and S is halved; after
// `growth_interval` clean steps S doubles. Inactive (S = 1, never skips) for
// FP32 and BF16 compute (bf16 has fp32's exponent range).
#pragma once

#include <cstdint>
#include <vector>

#include "config.pb.h"
#include "shardrec/comm/communicator.h"
#include "shardrec/core/matrix.h"
#include "shardrec/nn/param.h"

namespace shardrec {

class LossScaler {
 public:
  explicit LossScaler(const config::PrecisionConfig& cfg);

  bool active() const { return active_; }
  float scale() const { return static_cast<float>(scale_); }

  // Collective, after the dense all-reduce. When the (global) loss and every
  // gradient are finite: divides the dense and embedding-lookup gradients by S
  // and returns true. Otherwise returns false (skip this step) and halves S.
  // Throws once S would fall below 1: the overflow is not a scaling problem.
  bool Unscale(Communicator& comm, double loss, const std::vector<ParamRef<float>>& params,
               std::vector<MatF>* embedding_grads, uint64_t step);

  uint64_t skipped_steps() const { return skipped_; }
  // For checkpoints: resuming continues with the same scale and counters.
  double raw_scale() const { return scale_; }
  uint64_t good_steps() const { return good_steps_; }
  void Restore(double scale, uint64_t good_steps, uint64_t skipped);

 private:
  bool active_;
  double scale_;
  uint32_t growth_interval_;
  uint64_t good_steps_ = 0, skipped_ = 0;
};

}  // namespace shardrec
