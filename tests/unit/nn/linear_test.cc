#include "shardrec/nn/linear.h"

#include <gtest/gtest.h>

#include <cmath>

#include "grad_check.h"
#include "shardrec/core/error.h"

namespace shardrec {
namespace {

using testing::ExpectGradMatches;
using testing::Project;
using testing::RandomMat;

constexpr int kBatch = 7, kIn = 13, kOut = 9;

TEST(Linear, ForwardMatchesNaiveTripleLoop) {
  Linear<float> layer(kIn, kOut, /*seed=*/3, /*stream=*/5);
  Mat<float> x = RandomMat(kBatch, kIn, 1).cast<float>();
  Mat<float> y;
  layer.Forward(x, &y);
  ASSERT_EQ(y.rows(), kBatch);
  ASSERT_EQ(y.cols(), kOut);
  for (int b = 0; b < kBatch; ++b) {
    for (int o = 0; o < kOut; ++o) {
      double acc = layer.bias()(o);
      for (int i = 0; i < kIn; ++i) acc += double(x(b, i)) * double(layer.weight()(i, o));
      EXPECT_NEAR(y(b, o), acc, 1e-5) << "b=" << b << " o=" << o;
    }
  }
}

void CheckGradients(bool relu) {
  Linear<double> layer(kIn, kOut, 3, 5, "linear", relu);
  Mat<double> x = RandomMat(kBatch, kIn, 1);
  const Mat<double> r = RandomMat(kBatch, kOut, 2);
  Mat<double> y, dx;
  layer.Forward(x, &y);
  if (relu) {
    // Finite differences need every pre-activation clear of the kink, and the
    // check needs both sides of it.
    Mat<double> pre = x * layer.weight();
    pre.rowwise() += layer.bias();
    ASSERT_GT(pre.cwiseAbs().minCoeff(), 1e-3);
    ASSERT_GT((pre.array() < 0).count(), 5);
    ASSERT_GT((pre.array() > 0).count(), 5);
    EXPECT_EQ(y, pre.cwiseMax(0.0));
  }
  layer.Backward(r, &dx);
  auto loss = [&] {
    Mat<double> out;
    layer.Forward(x, &out);
    return Project(r, out);
  };
  ExpectGradMatches("dx", &x, dx, loss);
  const Mat<double> dw = layer.weight_grad();
  const Mat<double> db = layer.bias_grad();
  ExpectGradMatches("dW", &layer.weight(), dw, loss);
  ExpectGradMatches("db", layer.bias().data(), db.data(), kOut, loss);
}

TEST(Linear, BackwardMatchesFiniteDifferences) { CheckGradients(false); }
TEST(Linear, BackwardWithReluMatchesFiniteDifferences) { CheckGradients(true); }

// A batch large enough for the threaded mask-and-sum pass (several column
// blocks, the last one partial), against naive loops in double.
TEST(Linear, ReluBackwardOfALargeBatchMatchesNaiveLoops) {
  constexpr int kB = 300, kI = 17, kO = 150;
  Linear<float> layer(kI, kO, 3, 5, "linear", /*relu=*/true);
  const Mat<float> x = RandomMat(kB, kI, 1).cast<float>(), dy = RandomMat(kB, kO, 2).cast<float>();
  Mat<float> y, dx;
  layer.Forward(x, &y);
  layer.Backward(dy, &dx);
  Mat<double> g(kB, kO);
  for (int b = 0; b < kB; ++b) {
    for (int o = 0; o < kO; ++o) g(b, o) = y(b, o) > 0 ? double(dy(b, o)) : 0.0;
  }
  const Mat<double> w = layer.weight().cast<double>(), xd = x.cast<double>();
  const Mat<double> want_dw = xd.transpose() * g, want_dx = g * w.transpose();
  const RowVec<double> want_db = g.colwise().sum();
  const Mat<double> mag_dw = xd.cwiseAbs().transpose() * g.cwiseAbs(), mag_dx = g.cwiseAbs() * w.cwiseAbs().transpose();
  const RowVec<double> mag_db = g.cwiseAbs().colwise().sum();
  const double u = 1e-6;  // a few hundred fp32 roundings at most
  EXPECT_TRUE(
      ((layer.weight_grad().cast<double>() - want_dw).cwiseAbs().array() <= u * (mag_dw.array() + 1e-30)).all());
  EXPECT_TRUE(((dx.cast<double>() - want_dx).cwiseAbs().array() <= u * (mag_dx.array() + 1e-30)).all());
  EXPECT_TRUE(((layer.bias_grad().cast<double>() - want_db).cwiseAbs().array() <= u * (mag_db.array() + 1e-30)).all());
  EXPECT_GT((g.array() == 0).count(), kB * kO / 4) << "the mask removed little: the test proves little";
}

TEST(Linear, BackwardOverwritesGradients) {
  Linear<double> layer(kIn, kOut, 3, 5);
  const Mat<double> x = RandomMat(kBatch, kIn, 1);
  const Mat<double> r = RandomMat(kBatch, kOut, 2);
  Mat<double> y;
  layer.Forward(x, &y);
  layer.Backward(r, nullptr);  // null dx: parameter gradients only
  const Mat<double> first = layer.weight_grad();
  layer.Forward(x, &y);
  layer.Backward(r, nullptr);
  EXPECT_EQ(layer.weight_grad(), first);
  ASSERT_EQ(layer.Params().size(), 2u);
  EXPECT_EQ(layer.Params()[0].name, "linear.weight");
  EXPECT_EQ(layer.Params()[0].size, size_t(kIn * kOut));
  EXPECT_EQ(layer.Params()[1].grad, layer.bias_grad().data());
}

TEST(Linear, InitIsDeterministicAndScaled) {
  Linear<float> a(64, 32, 11, 1), b(64, 32, 11, 1), c(64, 32, 11, 2);
  EXPECT_EQ(a.weight(), b.weight());
  EXPECT_EQ(a.bias(), b.bias());
  EXPECT_NE(a.weight(), c.weight());
  const double w_std = std::sqrt(a.weight().cast<double>().array().square().mean());
  EXPECT_NEAR(w_std, std::sqrt(2.0 / 96), 0.15 * std::sqrt(2.0 / 96));
  // Float and double layers start from the same values, up to rounding.
  Linear<double> d(64, 32, 11, 1);
  EXPECT_LT((d.weight().cast<float>() - a.weight()).cwiseAbs().maxCoeff(), 1e-7);
}

TEST(Linear, RejectsWrongInputWidth) {
  Linear<float> layer(kIn, kOut, 3, 5);
  Mat<float> x(kBatch, kIn + 1), y;
  x.setZero();
  EXPECT_THROW(layer.Forward(x, &y), Error);
}

}  // namespace
}  // namespace shardrec
