#include "shardrec/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "shardrec/core/error.h"

namespace shardrec {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

LrSchedule::LrSchedule(const config::DenseOptimizerConfig& config, uint64_t total_steps)
    : lr_(config.lr()),
      warmup_(config.warmup_steps()),
      decay_(config.decay()),
      decay_start_(std::max(config.decay_start(), config.warmup_steps())),
      min_ratio_(config.min_lr_ratio()),
      total_steps_(total_steps) {
  if (!(lr_ > 0) || !std::isfinite(lr_)) SR_THROW() << "optimizer.lr must be a positive number, got " << lr_;
  if (!(min_ratio_ >= 0 && min_ratio_ <= 1)) {
    SR_THROW() << "optimizer.min_lr_ratio must be in [0, 1], got " << min_ratio_;
  }
  if (total_steps == 0) SR_THROW() << "the LR schedule needs train.steps >= 1";
}

double LrSchedule::LearningRate(uint64_t step) const {
  if (step < warmup_) return lr_ * static_cast<double>(step) / static_cast<double>(warmup_);
  if (decay_ == config::CONSTANT || step < decay_start_ || decay_start_ >= total_steps_) return lr_;
  const double p = std::min(1.0, static_cast<double>(step - decay_start_) / (total_steps_ - decay_start_));
  double f = 1.0;
  switch (decay_) {
    case config::LINEAR: f = 1.0 - p; break;
    case config::COSINE: f = 0.5 * (1.0 + std::cos(kPi * p)); break;
    case config::POLYNOMIAL: f = (1.0 - p) * (1.0 - p); break;
    case config::CONSTANT: break;
  }
  return lr_ * (min_ratio_ + (1.0 - min_ratio_) * f);
}

}  // namespace shardrec
