#include "shardrec/models/dlrm.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../nn/grad_check.h"
#include "shardrec/core/error.h"
#include "shardrec/nn/loss.h"

namespace shardrec {
namespace {

using testing::ExpectGradMatches;
using testing::RandomMat;

constexpr int kBatch = 5, kDense = 3, kSparse = 4, kDim = 4;

config::DlrmConfig MakeConfig(std::vector<uint32_t> bottom, std::vector<uint32_t> top,
                              config::Interaction interaction = config::DOT, bool self = false) {
  config::DlrmConfig c;
  for (uint32_t w : bottom) c.add_bottom_mlp(w);
  for (uint32_t w : top) c.add_top_mlp(w);
  c.set_interaction(interaction);
  c.set_interaction_self(self);
  return c;
}

// Full-model check in double: BCE over the logits, gradients of every parameter and of
// every embedding lookup against central differences.
void CheckModelGradients(const config::DlrmConfig& config, int num_dense) {
  Dlrm<double> model(config, num_dense, kSparse, kDim, /*seed=*/42);
  const Mat<double> dense = num_dense > 0 ? RandomMat(kBatch, num_dense, 1) : Mat<double>();
  std::vector<Mat<double>> emb;
  for (int f = 0; f < kSparse; ++f) emb.push_back(RandomMat(kBatch, kDim, 10 + f));
  Vec<double> labels(kBatch);
  labels << 1, 0, 0, 1, 1;
  const double normaliser = 2 * kBatch;  // as if another rank held the other half

  BceWithLogits<double> bce;
  bce.Forward(model.Forward(dense, emb), labels, normaliser);
  Vec<double> dlogits;
  bce.Backward(&dlogits);
  std::vector<Mat<double>> d_emb;
  model.Backward(dlogits, &d_emb);

  auto loss = [&] {
    BceWithLogits<double> fresh;
    return fresh.Forward(model.Forward(dense, emb), labels, normaliser);
  };
  for (const ParamRef<double>& p : model.Params()) ExpectGradMatches(p.name, p.value, p.grad, p.size, loss);
  ASSERT_EQ(d_emb.size(), size_t(kSparse));
  for (int f = 0; f < kSparse; ++f) ExpectGradMatches("d_emb" + std::to_string(f), &emb[f], d_emb[f], loss);
}

TEST(Dlrm, GradientsDot) { CheckModelGradients(MakeConfig({5, kDim}, {6, 3, 1}), kDense); }
TEST(Dlrm, GradientsDotSelf) { CheckModelGradients(MakeConfig({5, kDim}, {6, 1}, config::DOT, true), kDense); }
TEST(Dlrm, GradientsConcat) { CheckModelGradients(MakeConfig({5, 2}, {6, 1}, config::CONCAT), kDense); }
TEST(Dlrm, GradientsDotWithoutDense) { CheckModelGradients(MakeConfig({}, {6, 1}), 0); }
TEST(Dlrm, GradientsConcatWithoutDense) { CheckModelGradients(MakeConfig({}, {6, 1}, config::CONCAT), 0); }

TEST(Dlrm, DefaultShapes) {
  Dlrm<float> model(MakeConfig({512, 256, 64, 16}, {512, 256, 1}), 13, 26, 16, 1234);
  EXPECT_EQ(model.interaction_dim(), 16 + 27 * 26 / 2);
  const auto params = model.Params();
  ASSERT_EQ(params.size(), 14u);
  EXPECT_EQ(params[0].name, "bottom_mlp.0.weight");
  EXPECT_EQ(params[0].size, 13u * 512);
  EXPECT_EQ(params[8].name, "top_mlp.0.weight");
  EXPECT_EQ(params[8].size, 367u * 512);
  EXPECT_EQ(params[13].name, "top_mlp.2.bias");
}

TEST(Dlrm, InitDependsOnlyOnSeed) {
  const auto config = MakeConfig({5, kDim}, {6, 1});
  Dlrm<float> a(config, kDense, kSparse, kDim, 7), b(config, kDense, kSparse, kDim, 7),
      c(config, kDense, kSparse, kDim, 8);
  const auto pa = a.Params(), pb = b.Params(), pc = c.Params();
  bool any_diff = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    for (size_t k = 0; k < pa[i].size; ++k) {
      ASSERT_EQ(pa[i].value[k], pb[i].value[k]) << pa[i].name;
      any_diff |= pa[i].value[k] != pc[i].value[k];
    }
  }
  EXPECT_TRUE(any_diff);
}

TEST(Dlrm, FloatAndDoubleForwardAgree) {
  const auto config = MakeConfig({32, 8}, {16, 1});
  Dlrm<float> f(config, kDense, kSparse, 8, 3);
  Dlrm<double> d(config, kDense, kSparse, 8, 3);
  const Mat<double> dense = RandomMat(kBatch, kDense, 1);
  std::vector<Mat<double>> emb;
  std::vector<Mat<float>> emb_f;
  for (int f = 0; f < kSparse; ++f) {
    emb.push_back(RandomMat(kBatch, 8, 10 + f));
    emb_f.push_back(emb.back().cast<float>());
  }
  const Vec<float> lf = f.Forward(dense.cast<float>(), emb_f);
  const Vec<double> ld = d.Forward(dense, emb);
  EXPECT_LT((lf.cast<double>() - ld).cwiseAbs().maxCoeff(), 1e-5);
}

// The message must name the key the user has to change.
void ExpectConfigError(const config::DlrmConfig& config, int num_dense, int num_sparse, int dim,
                       const std::string& expected) {
  try {
    Dlrm<float> model(config, num_dense, num_sparse, dim, 1);
    ADD_FAILURE() << "no error; expected one containing: " << expected;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

TEST(Dlrm, ConfigValidation) {
  ExpectConfigError(MakeConfig({64, 32}, {8, 1}), 13, 26, 16,
                    "model.dlrm.bottom_mlp ends in 32 but the embedding "
                    "dim is 16");
  ExpectConfigError(MakeConfig({64, 16}, {}), 13, 26, 16, "model.dlrm.top_mlp is empty");
  ExpectConfigError(MakeConfig({64, 16}, {8, 2}), 13, 26, 16, "model.dlrm.top_mlp ends in 2 but must end in 1");
  ExpectConfigError(MakeConfig({}, {8, 1}), 13, 26, 16, "model.dlrm.bottom_mlp is empty");
  ExpectConfigError(MakeConfig({64, 0, 16}, {8, 1}), 13, 26, 16, "model.dlrm.bottom_mlp has width 0 at position 1");
  ExpectConfigError(MakeConfig({}, {8, 1}), 0, 1, 16, "model.dlrm.interaction_self");
  // CONCAT does not tie the bottom MLP to the embedding dim.
  EXPECT_NO_THROW(Dlrm<float>(MakeConfig({64, 32}, {8, 1}, config::CONCAT), 13, 26, 16, 1));
}

TEST(Dlrm, RejectsWrongInputs) {
  Dlrm<float> model(MakeConfig({5, kDim}, {6, 1}), kDense, kSparse, kDim, 1);
  std::vector<Mat<float>> emb(kSparse, Mat<float>::Zero(kBatch, kDim));
  EXPECT_THROW(model.Forward(Mat<float>::Zero(kBatch, kDense + 1), emb), Error);
  emb.pop_back();
  EXPECT_THROW(model.Forward(Mat<float>::Zero(kBatch, kDense), emb), Error);
}

}  // namespace
}  // namespace shardrec
