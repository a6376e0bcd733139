#include "shardrec/nn/mlp.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "grad_check.h"

namespace shardrec {
namespace {

using testing::ExpectGradMatches;
using testing::Project;
using testing::RandomMat;

void CheckMlpGradients(bool relu_last) {
  Mlp<double> mlp(13, {11, 9, 5}, relu_last, /*seed=*/7, /*stream=*/1, "mlp");
  Mat<double> x = RandomMat(7, 13, 1);
  const Mat<double> r = RandomMat(7, 5, 2);
  Mat<double> y, dx;
  mlp.Forward(x, &y);
  mlp.Backward(r, &dx);
  auto loss = [&] {
    Mat<double> out;
    mlp.Forward(x, &out);
    return Project(r, out);
  };
  ExpectGradMatches("mlp dx", &x, dx, loss);
  for (const ParamRef<double>& p : mlp.Params()) ExpectGradMatches(p.name, p.value, p.grad, p.size, loss);
}

TEST(Mlp, GradientsWithReluLast) { CheckMlpGradients(true); }
TEST(Mlp, GradientsWithLinearLast) { CheckMlpGradients(false); }

TEST(Mlp, ShapesNamesAndLastActivation) {
  Mlp<double> relu_last(13, {11, 5}, true, 7, 1, "bottom_mlp");
  Mlp<double> linear_last(13, {11, 5}, false, 7, 1, "bottom_mlp");
  const auto params = relu_last.Params();
  ASSERT_EQ(params.size(), 4u);
  EXPECT_EQ(params[0].name, "bottom_mlp.0.weight");
  EXPECT_EQ(params[3].name, "bottom_mlp.1.bias");
  EXPECT_EQ(params[2].size, 55u);
  const Mat<double> x = RandomMat(7, 13, 1);
  Mat<double> a, b;
  relu_last.Forward(x, &a);
  linear_last.Forward(x, &b);
  EXPECT_EQ(a, b.cwiseMax(0.0));
  EXPECT_LT(b.minCoeff(), 0.0);  // otherwise the comparison above proves nothing
}

TEST(Mlp, NullInputGradientStillFillsParameterGradients) {
  Mlp<double> a(13, {11, 5}, true, 7, 1, "m"), b(13, {11, 5}, true, 7, 1, "m");
  const Mat<double> x = RandomMat(7, 13, 1);
  const Mat<double> r = RandomMat(7, 5, 2);
  Mat<double> y, dx;
  a.Forward(x, &y);
  a.Backward(r, &dx);
  b.Forward(x, &y);
  b.Backward(r, nullptr);
  const auto pa = a.Params(), pb = b.Params();
  for (size_t i = 0; i < pa.size(); ++i) {
    for (size_t k = 0; k < pa[i].size; ++k) EXPECT_EQ(pa[i].grad[k], pb[i].grad[k]) << pa[i].name;
  }
}

TEST(Mlp, FloatAndDoubleForwardAgree) {
  Mlp<float> f(13, {64, 32, 1}, false, 5, 9, "m");
  Mlp<double> d(13, {64, 32, 1}, false, 5, 9, "m");
  const Mat<double> x = RandomMat(33, 13, 4);
  Mat<float> yf;
  Mat<double> yd;
  f.Forward(x.cast<float>(), &yf);
  d.Forward(x, &yd);
  EXPECT_LT((yf.cast<double>() - yd).cwiseAbs().maxCoeff(), 1e-5 * std::max(1.0, yd.cwiseAbs().maxCoeff()));
}

}  // namespace
}  // namespace shardrec
