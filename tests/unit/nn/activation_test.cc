#include "shardrec/nn/activation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "grad_check.h"

namespace shardrec {
namespace {

using testing::ExpectGradMatches;
using testing::Project;
using testing::RandomMat;

template <typename Layer>
void CheckActivation(const char* what) {
  Layer layer;
  Mat<double> x = 4.0 * RandomMat(7, 13, 1, /*gap=*/1e-3);
  const Mat<double> r = RandomMat(7, 13, 2);
  Mat<double> y, dx;
  layer.Forward(x, &y);
  layer.Backward(r, &dx);
  ExpectGradMatches(what, &x, dx, [&] {
    Layer fresh;
    Mat<double> out;
    fresh.Forward(x, &out);
    return Project(r, out);
  });
}

TEST(Sigmoid, BackwardMatchesFiniteDifferences) { CheckActivation<Sigmoid<double>>("sigmoid dx"); }

TEST(Sigmoid, StableAtExtremes) {
  Sigmoid<float> s;
  Mat<float> x(1, 4);
  x << -1e4f, -100.f, 100.f, 1e4f;
  Mat<float> y;
  s.Forward(x, &y);
  EXPECT_TRUE(y.allFinite());
  EXPECT_EQ(y(0, 0), 0.f);
  EXPECT_NEAR(y(0, 1), 0.f, 1e-30);
  EXPECT_EQ(y(0, 2), 1.f);
  EXPECT_EQ(y(0, 3), 1.f);
}

}  // namespace
}  // namespace shardrec
