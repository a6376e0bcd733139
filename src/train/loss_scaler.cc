#include "shardrec/train/loss_scaler.h"

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/train/finite_guard.h"

namespace shardrec {

LossScaler::LossScaler(const config::PrecisionConfig& cfg)
    : active_(cfg.compute() == config::FP16),
      scale_(active_ ? cfg.loss_scale() : 1.0),
      growth_interval_(cfg.loss_scale_growth_interval()) {}

void LossScaler::Restore(double scale, uint64_t good_steps, uint64_t skipped) {
  if (!active_) return;
  scale_ = scale;
  good_steps_ = good_steps;
  skipped_ = skipped;
}

bool LossScaler::Unscale(Communicator& comm, double loss, const std::vector<ParamRef<float>>& params,
                         std::vector<MatF>* embedding_grads, uint64_t step) {
  if (!active_) return true;
  const std::string bad = FindNonFinite(comm, loss, params, *embedding_grads);
  if (!bad.empty()) {
    ++skipped_;
    good_steps_ = 0;
    SR_CHECK(scale_ / 2 >= 1.0) << "step " << step + 1 << ": non-finite " << bad
                                << " even at loss scale 1: not an fp16 range problem";
    scale_ /= 2;
    LogInfo(Str("step ", step + 1, ": fp16 overflow (", bad, "); step skipped, loss scale now ", scale_, " (", skipped_,
                " skipped so far)"));
    return false;
  }
  const float inv = static_cast<float>(1.0 / scale_);
  for (const ParamRef<float>& p : params) {
    for (size_t i = 0; i < p.size; ++i) p.grad[i] *= inv;
  }
  for (MatF& g : *embedding_grads) g *= inv;
  if (++good_steps_ % growth_interval_ == 0) scale_ *= 2;
  return true;
}

}  // namespace shardrec
