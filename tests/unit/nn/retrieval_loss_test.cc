// Sampled softmax and L2 normalisation against a naive loop and finite differences.
#include "shardrec/nn/retrieval_loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "grad_check.h"

namespace shardrec {
namespace {

TEST(SampledSoftmax, LossMatchesNaiveLoopAndExcludesHits) {
  const Mat<double> u = testing::RandomMat(4, 3, 1), p = testing::RandomMat(4, 3, 2), n = testing::RandomMat(5, 3, 3);
  const std::vector<uint64_t> pos_ids = {7, 8, 9, 7}, neg_ids = {1, 7, 2, 9, 3};
  SampledSoftmaxLoss<double> loss(0.5);
  const double got = loss.Forward(u, p, n, pos_ids, neg_ids, 10.0);
  double want = 0;
  for (int q = 0; q < 4; ++q) {
    const double pos = u.row(q).dot(p.row(q)) / 0.5;
    double sum = std::exp(pos);
    for (int j = 0; j < 5; ++j)
      if (neg_ids[j] != pos_ids[q]) sum += std::exp(u.row(q).dot(n.row(j)) / 0.5);
    want += std::log(sum) - pos;
  }
  EXPECT_NEAR(got, want / 10.0, 1e-12);
}

TEST(SampledSoftmax, GradientsMatchFiniteDifferences) {
  Mat<double> u = testing::RandomMat(6, 4, 4), p = testing::RandomMat(6, 4, 5), n = testing::RandomMat(7, 4, 6);
  const std::vector<uint64_t> pos_ids = {1, 2, 3, 4, 5, 6}, neg_ids = {9, 2, 10, 11, 6, 12, 13};
  SampledSoftmaxLoss<double> loss(0.2);
  auto f = [&]() { return SampledSoftmaxLoss<double>(0.2).Forward(u, p, n, pos_ids, neg_ids, 3.0); };
  loss.Forward(u, p, n, pos_ids, neg_ids, 3.0);
  Mat<double> du, dp, dn;
  loss.Backward(&du, &dp, &dn);
  testing::ExpectGradMatches("queries", &u, du, f);
  testing::ExpectGradMatches("positives", &p, dp, f);
  testing::ExpectGradMatches("negatives", &n, dn, f);
}

TEST(L2Normalize, UnitRowsAndGradient) {
  Mat<double> x = testing::RandomMat(5, 3, 7), y;
  Vec<double> inv;
  L2NormalizeRows(x, &y, &inv);
  for (int r = 0; r < 5; ++r) EXPECT_NEAR(y.row(r).norm(), 1.0, 1e-12);
  const Mat<double> w = testing::RandomMat(5, 3, 8);
  Mat<double> dx;
  L2NormalizeRowsBackward(y, inv, w, &dx);
  testing::ExpectGradMatches("x", &x, dx, [&]() {
    Mat<double> out;
    Vec<double> i2;
    L2NormalizeRows(x, &out, &i2);
    return testing::Project(w, out);
  });
}

}  // namespace
}  // namespace shardrec
