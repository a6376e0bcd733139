#include "shardrec/nn/loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "grad_check.h"

namespace shardrec {
namespace {

TEST(BceWithLogits, MatchesNaiveFormulaAndNormaliser) {
  Vec<double> logits(6), labels(6);
  logits << -3.0, -0.5, 0.0, 0.25, 2.0, 7.0;
  labels << 0, 1, 1, 0, 1, 0;
  const double normaliser = 20;  // the global batch, larger than this rank's slice
  BceWithLogits<double> bce;
  const double loss = bce.Forward(logits, labels, normaliser);
  double naive = 0;
  for (int i = 0; i < 6; ++i) {
    const double p = 1 / (1 + std::exp(-logits[i]));
    naive += -(labels[i] * std::log(p) + (1 - labels[i]) * std::log(1 - p));
  }
  EXPECT_NEAR(loss, naive / normaliser, 1e-12);
  Vec<double> grad;
  bce.Backward(&grad);
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(grad[i], (1 / (1 + std::exp(-logits[i])) - labels[i]) / normaliser, 1e-15);
  }
  testing::ExpectGradMatches("dlogits", logits.data(), grad.data(), 6, [&] {
    BceWithLogits<double> fresh;
    return fresh.Forward(logits, labels, normaliser);
  });
}

TEST(BceWithLogits, StableForLargeLogits) {
  Vec<float> logits(4), labels(4);
  logits << -1e4f, -200.f, 200.f, 1e4f;
  labels << 1, 0, 0, 1;
  BceWithLogits<float> bce;
  // Wrong-side logits cost |x|; right-side ones cost ~e^-|x|, i.e. nothing.
  const double loss = bce.Forward(logits, labels, 1.0);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, 1e4 + 200, 1e-6);
  Vec<float> grad;
  bce.Backward(&grad);
  ASSERT_TRUE(grad.allFinite());
  EXPECT_FLOAT_EQ(grad[0], -1.f);
  EXPECT_FLOAT_EQ(grad[1], 0.f);
  EXPECT_FLOAT_EQ(grad[2], 1.f);
  EXPECT_FLOAT_EQ(grad[3], 0.f);
}

TEST(BceWithLogits, AcceptsMapOverLabels) {
  std::vector<float> labels = {1, 0, 1};
  Vec<float> logits = Vec<float>::Zero(3);
  BceWithLogits<float> bce;
  const double loss = bce.Forward(logits, Eigen::Map<const Vec<float>>(labels.data(), 3), 3.0);
  EXPECT_NEAR(loss, std::log(2.0), 1e-6);
}

}  // namespace
}  // namespace shardrec
