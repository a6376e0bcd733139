// Linear, HSTU and SASRec forward + backward with bf16 / fp16 products against
// the same layer in fp32, within tolerances scaled by the type's unit roundoff;
// the bf16 runs through both oneDNN and the forced fallback.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "grad_check.h"
#include "shardrec/core/error.h"
#include "shardrec/core/gemm.h"
#include "shardrec/nn/hstu_layer.h"
#include "shardrec/nn/linear.h"
#include "shardrec/nn/mlp.h"
#include "shardrec/nn/sasrec_layer.h"

namespace shardrec {
namespace {

using testing::RandomMat;

double UnitRoundoff(ComputeType type) {
  return type == ComputeType::kBf16 ? std::ldexp(1.0, -8) : type == ComputeType::kFp16 ? std::ldexp(1.0, -11) : 0.0;
}

struct Variant {
  const char* name;
  ComputeType type;
  bool force_fallback;  // bf16 through the round-operands path
};
const Variant kVariants[] = {{"bf16", ComputeType::kBf16, false},
                             {"bf16-fallback", ComputeType::kBf16, true},
                             {"fp16", ComputeType::kFp16, false}};

class ForcedFallback {
 public:
  explicit ForcedFallback(bool on) { ForceGemmFallback(on); }
  ~ForcedFallback() { ForceGemmFallback(false); }
};

Mat<float> RandomF(int rows, int cols, uint64_t seed, double scale = 1.0) {
  return (RandomMat(rows, cols, seed) * scale).cast<float>();
}

// |got - want| <= factor * magnitude elementwise, with magnitude = |A| |B| of
// the product that made the value: a product's error bound.
void ExpectElementwise(const std::string& what, const Mat<float>& got, const Mat<float>& want,
                       const Mat<double>& magnitude, double factor) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  const Mat<double> err = (got.cast<double>() - want.cast<double>()).cwiseAbs();
  const Eigen::Index bad = (err.array() > factor * magnitude.array()).count();
  EXPECT_EQ(bad, 0) << what << ": " << bad << " entries beyond the bound; worst ratio "
                    << (err.array() / (factor * magnitude.array()).max(1e-300)).maxCoeff();
  // The products really ran in the reduced type.
  EXPECT_GT(err.maxCoeff(), 0.0) << what << " equals fp32: the compute type was not applied";
}

// Relative Frobenius error ||got - want|| / ||want||.
double RelError(const Mat<float>& got, const Mat<float>& want) {
  return (got.cast<double>() - want.cast<double>()).norm() / want.cast<double>().norm();
}

TEST(ComputeType, LinearProductsWithinTypeBound) {
  constexpr int kBatch = 64, kIn = 96, kOut = 48;
  const Mat<float> x = RandomF(kBatch, kIn, 1), dy = RandomF(kBatch, kOut, 2);
  Linear<float> ref(kIn, kOut, 3, 5);
  Mat<float> y32, dx32;
  ref.Forward(x, &y32);
  ref.Backward(dy, &dx32);
  const Mat<double> xa = x.cast<double>().cwiseAbs(), wa = ref.weight().cast<double>().cwiseAbs(),
                    dya = dy.cast<double>().cwiseAbs();
  for (const Variant& v : kVariants) {
    ForcedFallback forced(v.force_fallback);
    Linear<float> layer(kIn, kOut, 3, 5);
    layer.set_compute(v.type);
    EXPECT_EQ(layer.compute(), v.type);
    Mat<float> y, dx;
    layer.Forward(x, &y);
    layer.Backward(dy, &dx);
    // Both results are within (2u + u^2 + (K + 4) 2^-24) |A||B| of the exact
    // product (fp32: u = 0), and the bias add rounds each by 2^-24 |y|.
    const double u = UnitRoundoff(v.type);
    auto factor = [u](int k) { return 2 * u + u * u + 2 * (k + 4) * std::ldexp(1.0, -24); };
    const Mat<double> y_mag = (xa * wa).array() + std::ldexp(1.0, -22) * y32.cast<double>().cwiseAbs().array();
    ExpectElementwise(std::string(v.name) + " y", y, y32, y_mag, factor(kIn));
    ExpectElementwise(std::string(v.name) + " dW", layer.weight_grad(), ref.weight_grad(), xa.transpose() * dya,
                      factor(kBatch));
    ExpectElementwise(std::string(v.name) + " dx", dx, dx32, dya * wa.transpose(), factor(kOut));
    // The bias gradient is a column sum, not a product: unchanged.
    EXPECT_TRUE(layer.bias_grad() == ref.bias_grad()) << v.name;
  }
}

// fp32 on the fallback backend is the Eigen expressions Linear always
// evaluated, with the ReLU and its mask after them: the same bits.
TEST(ComputeType, Fp32FallbackLinearIsBitwiseTheEigenExpressions) {
  ForcedFallback forced(true);
  for (bool relu : {false, true}) {
    for (int batch : {1, 3, 64}) {
      const Mat<float> x = RandomF(batch, 24, 1), dy = RandomF(batch, 1, 2), dy2 = RandomF(batch, 40, 3);
      for (const Mat<float>* g : {&dy, &dy2}) {
        const std::string what = std::to_string(batch) + "x" + std::to_string(g->cols()) + (relu ? " relu" : "");
        Linear<float> layer(24, static_cast<int>(g->cols()), 3, 5, "linear", relu);
        Mat<float> y, dx;
        layer.Forward(x, &y);
        layer.Backward(*g, &dx);
        Mat<float> want_y = x * layer.weight();
        want_y.rowwise() += layer.bias();
        Mat<float> masked = *g;
        if (relu) {
          want_y = want_y.cwiseMax(0.0f);
          masked = (want_y.array() > 0.0f).select(*g, 0.0f);
        }
        const Mat<float> want_dw = x.transpose() * masked, want_dx = masked * layer.weight().transpose();
        EXPECT_TRUE(y == want_y) << what;
        EXPECT_TRUE(layer.weight_grad() == want_dw) << what;
        EXPECT_TRUE(dx == want_dx) << what;
        EXPECT_LE((layer.bias_grad() - masked.colwise().sum()).cwiseAbs().maxCoeff(),
                  1e-5f * masked.cwiseAbs().colwise().sum().maxCoeff())
            << what;
      }
    }
  }
}

TEST(ComputeType, MlpSetsEveryLayer) {
  Mlp<float> mlp(8, {16, 4, 2}, /*relu_last=*/false, 1, 2, "mlp");
  EXPECT_EQ(mlp.compute(), ComputeType::kFp32);
  mlp.set_compute(ComputeType::kFp16);
  for (int i = 0; i < mlp.num_layers(); ++i) EXPECT_EQ(mlp.layer(i).compute(), ComputeType::kFp16) << i;
}

TEST(ComputeType, DoubleLayersComputeInDouble) {
  Linear<double> linear(4, 3, 1, 1);
  EXPECT_THROW(linear.set_compute(ComputeType::kBf16), Error);
  linear.set_compute(ComputeType::kFp32);
  HstuLayer<double> hstu(HstuLayerShape{4, 1, 2, 2, 3, true, 0.0}, 1, 1);
  EXPECT_THROW(hstu.set_compute(ComputeType::kFp16), Error);
  SasRecLayer<double> sasrec(SasRecLayerShape{4, 2, 2, 4, 0.0}, 1, 1);
  EXPECT_THROW(sasrec.set_compute(ComputeType::kBf16), Error);
}

// A jagged batch with candidates and dropout, long enough for several
// attention tiles.
SequenceLayout TestLayout() {
  SequenceLayout layout;
  layout.offsets = {0, 130, 133, 203};
  layout.num_targets = {0, 1, 4};
  for (int64_t t = 0; t < 203; ++t) {
    layout.timestamps.push_back(1000 + t * t * 37 % 5000);
    layout.token_keys.push_back(Hash3(9, 9, static_cast<uint64_t>(t)));
  }
  return layout;
}

struct LayerRun {
  Mat<float> branch;    // y - x: what the block adds to its input
  Mat<float> d_branch;  // dx - dy: the gradient through the block
  std::vector<Mat<float>> grads;
};

// Every tensor of a reduced-precision run against the fp32 run: relative
// (Frobenius) error at most kAmplification * u. One product rounds its
// operands by 2u; LayerNorm, SiLU and the attention in between amplify that by
// a modest factor on well-scaled inputs (observed: about 1.5 for HSTU, up to 11
// for SASRec, whose softmax sharpens score differences). fp16 must also beat
// bf16, as its u is 8x smaller. `exact` names gradients no product feeds (the
// output bias: a column sum of dy), which must not change at all; `skip` names
// gradients that are exactly zero in exact arithmetic (SASRec's key bias:
// softmax ignores a shift shared by all of a query's scores), whose fp32 value
// is rounding noise.
constexpr double kAmplification = 32;

void ExpectRunsClose(const std::string& layer, const LayerRun& ref, const LayerRun& bf16, const LayerRun& fp16,
                     const std::vector<std::string>& names, const std::set<std::string>& exact,
                     const std::set<std::string>& skip) {
  auto check = [&](const std::string& what, const Mat<float>& want, const Mat<float>& b, const Mat<float>& h) {
    const double eb = RelError(b, want), eh = RelError(h, want);
    EXPECT_LE(eb, kAmplification * UnitRoundoff(ComputeType::kBf16)) << layer << " bf16 " << what;
    EXPECT_LE(eh, kAmplification * UnitRoundoff(ComputeType::kFp16)) << layer << " fp16 " << what;
    EXPECT_GT(eb, 0.0) << layer << " bf16 " << what << " equals fp32";
    EXPECT_LT(eh, eb) << layer << " " << what << ": fp16 error not below bf16's";
  };
  check("output", ref.branch, bf16.branch, fp16.branch);
  check("input gradient", ref.d_branch, bf16.d_branch, fp16.d_branch);
  ASSERT_EQ(ref.grads.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    if (skip.count(names[i])) continue;
    if (exact.count(names[i])) {
      EXPECT_TRUE(bf16.grads[i] == ref.grads[i] && fp16.grads[i] == ref.grads[i]) << layer << " " << names[i];
    } else {
      check(names[i], ref.grads[i], bf16.grads[i], fp16.grads[i]);
    }
  }
}

template <typename Layer>
LayerRun RunLayer(Layer& layer, const Mat<float>& x, const SequenceLayout& layout, const Mat<float>& dy) {
  LayerRun run;
  Mat<float> y, dx;
  layer.Forward(x, layout, &y);
  layer.Backward(dy, &dx);
  run.branch = y - x;
  run.d_branch = dx - dy;
  for (const ParamRef<float>& p : layer.Params()) {
    run.grads.push_back(Eigen::Map<const Mat<float>>(p.grad, 1, static_cast<Eigen::Index>(p.size)));
  }
  return run;
}

std::vector<std::string> ParamNames(const std::vector<ParamRef<float>>& params) {
  std::vector<std::string> names;
  for (const auto& p : params) names.push_back(p.name);
  return names;
}

HstuLayer<float> MakeHstu(ComputeType type) {
  HstuLayerShape shape;
  shape.dim = 32;
  shape.heads = 2;
  shape.dqk = 16;
  shape.dv = 16;
  shape.max_len = 150;
  shape.dropout = 0.1;
  HstuLayer<float> layer(shape, 5, 6);
  // Weights larger than the default init, so the block's branch is not tiny
  // next to the residual and every term contributes.
  layer.w_uvqk() = RandomF(shape.dim, static_cast<int>(layer.w_uvqk().cols()), 1, 0.3);
  layer.w_o() = RandomF(static_cast<int>(layer.w_o().rows()), shape.dim, 2, 0.3);
  layer.set_compute(type);
  return layer;
}

TEST(ComputeType, HstuForwardBackwardWithinTypeTolerance) {
  const SequenceLayout layout = TestLayout();
  const Mat<float> x = RandomF(203, 32, 7), dy = RandomF(203, 32, 8);
  HstuLayer<float> ref = MakeHstu(ComputeType::kFp32);
  const LayerRun r32 = RunLayer(ref, x, layout, dy);
  HstuLayer<float> fp16 = MakeHstu(ComputeType::kFp16);
  const LayerRun r16 = RunLayer(fp16, x, layout, dy);
  for (bool fallback : {false, true}) {
    ForcedFallback forced(fallback);
    HstuLayer<float> bf16 = MakeHstu(ComputeType::kBf16);
    ExpectRunsClose(fallback ? "hstu(fallback)" : "hstu", r32, RunLayer(bf16, x, layout, dy), r16,
                    ParamNames(ref.Params()), {"hstu.b_o"}, {});
  }
}

// Recomputation rebuilds activations with the same products, so gradients stay
// bit for bit those of keeping everything, in bf16 as in fp32.
TEST(ComputeType, HstuRecomputeKeepsBf16GradientsBitwise) {
  const SequenceLayout layout = TestLayout();
  const Mat<float> x = RandomF(203, 32, 7), dy = RandomF(203, 32, 8);
  HstuLayer<float> keep = MakeHstu(ComputeType::kBf16);
  const LayerRun want = RunLayer(keep, x, layout, dy);
  for (Recompute mode : {Recompute::kSelective, Recompute::kFull}) {
    HstuLayer<float> layer = MakeHstu(ComputeType::kBf16);
    layer.set_recompute(mode);
    const LayerRun got = RunLayer(layer, x, layout, dy);
    EXPECT_TRUE(got.d_branch == want.d_branch);
    for (size_t i = 0; i < want.grads.size(); ++i) EXPECT_TRUE(got.grads[i] == want.grads[i]) << "param " << i;
  }
}

SasRecLayer<float> MakeSasRec(ComputeType type) {
  SasRecLayer<float> layer(SasRecLayerShape{32, 2, 16, 48, 0.1}, 3, 4);
  layer.set_compute(type);
  return layer;
}

TEST(ComputeType, SasRecForwardBackwardWithinTypeTolerance) {
  const SequenceLayout layout = TestLayout();
  const Mat<float> x = RandomF(203, 32, 5), dy = RandomF(203, 32, 6);
  SasRecLayer<float> ref = MakeSasRec(ComputeType::kFp32);
  const LayerRun r32 = RunLayer(ref, x, layout, dy);
  SasRecLayer<float> fp16 = MakeSasRec(ComputeType::kFp16);
  EXPECT_EQ(fp16.compute(), ComputeType::kFp16);
  const LayerRun r16 = RunLayer(fp16, x, layout, dy);
  for (bool fallback : {false, true}) {
    ForcedFallback forced(fallback);
    SasRecLayer<float> bf16 = MakeSasRec(ComputeType::kBf16);
    ExpectRunsClose(fallback ? "sasrec(fallback)" : "sasrec", r32, RunLayer(bf16, x, layout, dy), r16,
                    ParamNames(ref.Params()), {"sasrec.ffn2.bias"}, {"sasrec.k.bias"});
  }
}

}  // namespace
}  // namespace shardrec
