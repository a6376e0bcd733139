#include "shardrec/optim/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "shardrec/core/error.h"

namespace shardrec {
namespace {

config::DenseOptimizerConfig Schedule(config::LrDecay decay, uint64_t warmup, double min_ratio = 0.0,
                                      uint64_t decay_start = 0) {
  config::DenseOptimizerConfig c;
  c.set_lr(0.1);
  c.set_warmup_steps(warmup);
  c.set_decay(decay);
  c.set_min_lr_ratio(min_ratio);
  c.set_decay_start(decay_start);
  return c;
}

TEST(LrSchedule, WarmupFromZero) {
  LrSchedule s(Schedule(config::CONSTANT, 10), 100);
  EXPECT_DOUBLE_EQ(s.LearningRate(0), 0.0);
  EXPECT_DOUBLE_EQ(s.LearningRate(5), 0.05);  // midpoint
  EXPECT_DOUBLE_EQ(s.LearningRate(9), 0.09);
  EXPECT_DOUBLE_EQ(s.LearningRate(10), 0.1);  // end
  EXPECT_DOUBLE_EQ(s.LearningRate(1000), 0.1);
}

TEST(LrSchedule, DecaysAfterWarmup) {
  // Decay runs over steps 10..110; 60 is its midpoint.
  EXPECT_NEAR(LrSchedule(Schedule(config::COSINE, 10), 110).LearningRate(60), 0.05, 1e-15);
  EXPECT_NEAR(LrSchedule(Schedule(config::COSINE, 10, 0.1), 110).LearningRate(60), 0.1 * (0.1 + 0.9 * 0.5), 1e-15);
  EXPECT_NEAR(LrSchedule(Schedule(config::COSINE, 10), 110).LearningRate(35), 0.1 * 0.5 * (1 + std::sqrt(0.5)), 1e-15);
  EXPECT_NEAR(LrSchedule(Schedule(config::LINEAR, 10), 110).LearningRate(60), 0.05, 1e-15);
  EXPECT_NEAR(LrSchedule(Schedule(config::POLYNOMIAL, 10), 110).LearningRate(60), 0.025, 1e-15);
  for (auto decay : {config::LINEAR, config::COSINE, config::POLYNOMIAL}) {
    LrSchedule s(Schedule(decay, 10, 0.2), 110);
    EXPECT_DOUBLE_EQ(s.LearningRate(10), 0.1) << decay;
    EXPECT_NEAR(s.LearningRate(110), 0.02, 1e-15) << decay;
    EXPECT_NEAR(s.LearningRate(500), 0.02, 1e-15) << decay;
    EXPECT_LT(s.LearningRate(109), s.LearningRate(108)) << decay;
  }
}

TEST(LrSchedule, DecayStartHoldsThePeak) {
  LrSchedule s(Schedule(config::LINEAR, 10, 0.0, 50), 110);
  EXPECT_DOUBLE_EQ(s.LearningRate(30), 0.1);
  EXPECT_DOUBLE_EQ(s.LearningRate(50), 0.1);
  EXPECT_NEAR(s.LearningRate(80), 0.05, 1e-15);
  // A decay_start inside the warm-up waits for the warm-up to end.
  LrSchedule early(Schedule(config::LINEAR, 10, 0.0, 4), 110);
  EXPECT_DOUBLE_EQ(early.LearningRate(5), 0.05);
  EXPECT_NEAR(early.LearningRate(60), 0.05, 1e-15);
}

TEST(LrSchedule, RejectsBadValues) {
  auto c = Schedule(config::COSINE, 0);
  c.set_lr(0);
  EXPECT_THROW(LrSchedule(c, 10), Error);
  c.set_lr(0.1);
  c.set_min_lr_ratio(1.5);
  EXPECT_THROW(LrSchedule(c, 10), Error);
  EXPECT_THROW(LrSchedule(Schedule(config::COSINE, 0), 0), Error);
}

}  // namespace
}  // namespace shardrec
