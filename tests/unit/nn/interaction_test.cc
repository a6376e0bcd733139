#include "shardrec/nn/interaction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "grad_check.h"
#include "shardrec/core/error.h"

namespace shardrec {
namespace {

using testing::ExpectGradMatches;
using testing::Project;
using testing::RandomMat;

constexpr int kBatch = 7, kFeatures = 5, kDim = 3;

std::vector<Mat<double>> RandomEmbeddings(int features, int dim, uint64_t seed) {
  std::vector<Mat<double>> emb;
  for (int f = 0; f < features; ++f) emb.push_back(RandomMat(kBatch, dim, seed + f));
  return emb;
}

void CheckDotGradients(bool self, bool with_dense) {
  DotInteraction<double> dot(kFeatures, kDim, self, with_dense);
  Mat<double> z = with_dense ? RandomMat(kBatch, kDim, 1) : Mat<double>();
  std::vector<Mat<double>> emb = RandomEmbeddings(kFeatures, kDim, 10);
  const Mat<double> r = RandomMat(kBatch, dot.output_dim(), 2);
  Mat<double> y, dz;
  std::vector<Mat<double>> demb;
  dot.Forward(z, emb, &y);
  dot.Backward(r, &dz, &demb);
  auto loss = [&] {
    Mat<double> out;
    dot.Forward(z, emb, &out);
    return Project(r, out);
  };
  if (with_dense) ExpectGradMatches("dz", &z, dz, loss);
  ASSERT_EQ(demb.size(), size_t(kFeatures));
  for (int f = 0; f < kFeatures; ++f) ExpectGradMatches("demb" + std::to_string(f), &emb[f], demb[f], loss);
}

TEST(DotInteraction, GradientsWithoutSelf) { CheckDotGradients(false, true); }
TEST(DotInteraction, GradientsWithSelf) { CheckDotGradients(true, true); }
TEST(DotInteraction, GradientsWithoutDense) { CheckDotGradients(false, false); }
TEST(DotInteraction, GradientsWithSelfWithoutDense) { CheckDotGradients(true, false); }

TEST(DotInteraction, ForwardMatchesNaiveDots) {
  for (bool self : {false, true}) {
    DotInteraction<double> dot(kFeatures, kDim, self);
    const int n = kFeatures + 1;
    EXPECT_EQ(dot.num_pairs(), self ? n * (n + 1) / 2 : n * (n - 1) / 2);
    EXPECT_EQ(dot.output_dim(), kDim + dot.num_pairs());
    const Mat<double> z = RandomMat(kBatch, kDim, 1);
    const std::vector<Mat<double>> emb = RandomEmbeddings(kFeatures, kDim, 10);
    Mat<double> y;
    dot.Forward(z, emb, &y);
    auto vec = [&](int b, int i) -> Eigen::RowVectorXd { return i == 0 ? z.row(b) : emb[i - 1].row(b); };
    for (int b = 0; b < kBatch; ++b) {
      EXPECT_EQ(y.row(b).head(kDim), z.row(b));
      int p = kDim;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < (self ? i + 1 : i); ++j) {
          double naive = 0;
          for (int k = 0; k < kDim; ++k) naive += vec(b, i)(k) * vec(b, j)(k);
          EXPECT_NEAR(y(b, p++), naive, 1e-12) << "b=" << b << " i=" << i << " j=" << j;
        }
      }
    }
  }
}

// DLRM's size (26 features of width 16 plus the dense vector) and widths that
// leave a partial vector block, in float over a batch of several thread tasks:
// outputs and gradients against naive double loops.
TEST(DotInteraction, FloatMatchesNaiveLoopsAtModelSizes) {
  constexpr int kBig = 70, kFeat = 26;
  for (int dim : {16, 20, 5}) {
    for (bool self : {false, true}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + (self ? " with self" : ""));
      DotInteraction<float> dot(kFeat, dim, self);
      const int n = kFeat + 1;
      const Mat<float> z = RandomMat(kBig, dim, 1).cast<float>();
      std::vector<Mat<float>> emb;
      for (int f = 0; f < kFeat; ++f) emb.push_back(RandomMat(kBig, dim, 100 + f).cast<float>());
      auto vec = [&](int b, int i) -> Eigen::RowVectorXd {
        const Mat<float>& m = i == 0 ? z : emb[i - 1];
        return m.row(b).cast<double>();
      };
      Mat<float> y;
      dot.Forward(z, emb, &y);
      const Mat<float> dy = RandomMat(kBig, dot.output_dim(), 2).cast<float>();
      Mat<float> dz;
      std::vector<Mat<float>> demb;
      dot.Backward(dy, &dz, &demb);
      for (int b = 0; b < kBig; ++b) {
        std::vector<Eigen::RowVectorXd> grad(n, Eigen::RowVectorXd::Zero(dim));
        grad[0] = dy.row(b).head(dim).cast<double>();
        int p = dim;
        for (int i = 0; i < n; ++i) {
          for (int j = 0; j < (self ? i + 1 : i); ++j, ++p) {
            const double naive = vec(b, i).dot(vec(b, j));
            ASSERT_NEAR(y(b, p), naive, 1e-5 * (1 + std::abs(naive))) << "b=" << b << " i=" << i << " j=" << j;
            grad[i] += dy(b, p) * vec(b, j);
            grad[j] += dy(b, p) * vec(b, i);
          }
        }
        for (int k = 0; k < dim; ++k) {
          ASSERT_NEAR(dz(b, k), grad[0](k), 1e-4) << "b=" << b << " k=" << k;
          for (int f = 0; f < kFeat; ++f)
            ASSERT_NEAR(demb[f](b, k), grad[f + 1](k), 1e-4) << "b=" << b << " f=" << f << " k=" << k;
        }
      }
    }
  }
}

TEST(DotInteraction, RejectsMismatchedEmbedding) {
  DotInteraction<double> dot(kFeatures, kDim, false);
  const Mat<double> z = RandomMat(kBatch, kDim, 1);
  std::vector<Mat<double>> emb = RandomEmbeddings(kFeatures, kDim, 10);
  emb[2] = RandomMat(kBatch, kDim + 1, 3);
  Mat<double> y;
  EXPECT_THROW(dot.Forward(z, emb, &y), Error);
}

TEST(ConcatInteraction, ForwardAndGradients) {
  ConcatInteraction<double> cat(4, {3, 2, 5});
  EXPECT_EQ(cat.output_dim(), 14);
  Mat<double> z = RandomMat(kBatch, 4, 1);
  std::vector<Mat<double>> emb = {RandomMat(kBatch, 3, 2), RandomMat(kBatch, 2, 3), RandomMat(kBatch, 5, 4)};
  Mat<double> y, dz;
  cat.Forward(z, emb, &y);
  EXPECT_EQ(y.leftCols(4), z);
  EXPECT_EQ(y.middleCols(7, 2), emb[1]);
  EXPECT_EQ(y.rightCols(5), emb[2]);
  const Mat<double> r = RandomMat(kBatch, 14, 5);
  std::vector<Mat<double>> demb;
  cat.Backward(r, &dz, &demb);
  auto loss = [&] {
    Mat<double> out;
    cat.Forward(z, emb, &out);
    return Project(r, out);
  };
  ExpectGradMatches("dz", &z, dz, loss);
  for (int f = 0; f < 3; ++f) ExpectGradMatches("demb" + std::to_string(f), &emb[f], demb[f], loss);
}

}  // namespace
}  // namespace shardrec
