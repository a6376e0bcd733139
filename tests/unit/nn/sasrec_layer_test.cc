// The SASRec block against golden tensors from scripts/reference/sequence_layers.py
// and against finite differences.
#include "shardrec/nn/sasrec_layer.h"

#include <gtest/gtest.h>

#include "golden_file.h"
#include "grad_check.h"
#include "test_util.h"

namespace shardrec {
namespace {

// Golden names in the order of SasRecLayer::Params().
const char* kGoldenParams[] = {"ln1_weight", "ln1_bias", "w_q",        "b_q",      "w_k", "b_k", "w_v", "b_v",
                               "w_o",        "b_o",      "ln2_weight", "ln2_bias", "w_1", "b_1", "w_2", "b_2"};

template <typename T>
void CheckAgainstGolden(double tol) {
  const testing::GoldenFile g(testing::SourceDir() + "/tests/golden/sasrec_layer.txt");
  SasRecLayerShape shape{g.Int("D"), g.Int("H"), g.Int("d"), g.Int("F"), 0.0};
  SasRecLayer<T> layer(shape, 1, 2);
  std::vector<ParamRef<T>> params = layer.Params();
  ASSERT_EQ(params.size(), std::size(kGoldenParams));
  for (size_t i = 0; i < params.size(); ++i) {
    Eigen::Map<Vec<T>> value(params[i].value, static_cast<Eigen::Index>(params[i].size));
    g.Load(kGoldenParams[i], &value);
  }
  SequenceLayout layout;
  layout.offsets = g.Ints<int64_t>("offsets");
  Mat<T> x(layout.tokens(), shape.dim), dy(layout.tokens(), shape.dim), y, dx;
  g.Load("x", &x);
  g.Load("dy", &dy);
  layer.Forward(x, layout, &y);
  testing::ExpectClose("y", y.data(), g["y"], tol);
  layer.Backward(dy, &dx);
  testing::ExpectClose("grad_x", dx.data(), g["grad_x"], tol);
  for (size_t i = 0; i < params.size(); ++i) {
    testing::ExpectClose(std::string("grad_") + kGoldenParams[i], params[i].grad,
                         g[std::string("grad_") + kGoldenParams[i]], tol);
  }
}

TEST(SasRecLayer, MatchesReference) {
  CheckAgainstGolden<double>(1e-11);
  CheckAgainstGolden<float>(2e-5);
}

TEST(SasRecLayer, GradientsMatchFiniteDifferences) {
  SasRecLayerShape shape{6, 2, 3, 5, 0.2};
  SasRecLayer<double> layer(shape, 3, 4);
  SequenceLayout layout;
  layout.offsets = {0, 70, 71, 140};  // spans two attention tiles
  for (uint64_t t = 0; t < 140; ++t) layout.token_keys.push_back(Hash3(1, 2, t));
  Mat<double> x = testing::RandomMat(140, shape.dim, 5), y, dx;
  const Mat<double> r = testing::RandomMat(140, shape.dim, 6);
  auto loss = [&]() {
    Mat<double> out;
    layer.Forward(x, layout, &out);
    return testing::Project(r, out);
  };
  layer.Forward(x, layout, &y);
  layer.Backward(r, &dx);
  for (size_t k = 0; k < static_cast<size_t>(x.size()); k += 29) {
    const double analytic = dx.data()[k];
    testing::ExpectGradMatches("x[" + std::to_string(k) + "]", x.data() + k, &analytic, 1, loss, 1e-6);
  }
  for (const ParamRef<double>& p : layer.Params()) {
    testing::ExpectGradMatches(p.name, p.value, p.grad, std::min<size_t>(p.size, 40), loss, 1e-6);
  }
}

}  // namespace
}  // namespace shardrec
