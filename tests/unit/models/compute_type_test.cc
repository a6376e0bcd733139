// precision.compute reaches the models: DLRM's MLPs and the sequence encoder's
// blocks compute in the set type (results move by a type-sized amount), and
// setting fp32 back restores the fp32 results bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../nn/grad_check.h"
#include "shardrec/core/error.h"
#include "shardrec/models/compute_type.h"
#include "shardrec/models/dlrm.h"
#include "shardrec/models/sequence_encoder.h"

namespace shardrec {
namespace {

using testing::RandomMat;

TEST(ModelComputeType, FromConfig) {
  EXPECT_EQ(ComputeTypeFromConfig(config::FP32), ComputeType::kFp32);
  EXPECT_EQ(ComputeTypeFromConfig(config::BF16), ComputeType::kBf16);
  EXPECT_EQ(ComputeTypeFromConfig(config::FP16), ComputeType::kFp16);
  EXPECT_THROW(ComputeTypeFromConfig(static_cast<config::DType>(7)), Error);
}

// Relative max-norm difference of two results.
template <typename M>
double RelDiff(const M& got, const M& want) {
  return (got - want).cwiseAbs().maxCoeff() / want.cwiseAbs().maxCoeff();
}

TEST(ModelComputeType, DlrmMlpsComputeInTheSetType) {
  config::DlrmConfig cfg;
  for (uint32_t w : {64u, 8u}) cfg.add_bottom_mlp(w);
  for (uint32_t w : {32u, 16u, 1u}) cfg.add_top_mlp(w);
  constexpr int kBatch = 64, kDense = 13, kSparse = 3;
  const Mat<float> dense = RandomMat(kBatch, kDense, 1).cast<float>();
  std::vector<Mat<float>> emb;
  for (int f = 0; f < kSparse; ++f) emb.push_back(RandomMat(kBatch, 8, 2 + f).cast<float>());
  const Vec<float> dlogits = RandomMat(kBatch, 1, 9).cast<float>();
  auto run = [&](Dlrm<float>& model, std::vector<Mat<float>>* d_emb) {
    const Vec<float> logits = model.Forward(dense, emb);
    model.Backward(dlogits, d_emb);
    return logits;
  };
  Dlrm<float> ref(cfg, kDense, kSparse, 8, 5), model(cfg, kDense, kSparse, 8, 5);
  std::vector<Mat<float>> d_ref, d_model;
  const Vec<float> want = run(ref, &d_ref);
  for (ComputeType type : {ComputeType::kBf16, ComputeType::kFp16}) {
    model.set_compute(type);
    EXPECT_EQ(model.compute(), type);
    const Vec<float> got = run(model, &d_model);
    const double u = type == ComputeType::kBf16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
    EXPECT_GT(RelDiff(got, want), 0.0) << ComputeTypeName(type);
    EXPECT_LT(RelDiff(got, want), 64 * u) << ComputeTypeName(type);
    EXPECT_LT(RelDiff(d_model[0], d_ref[0]), 64 * u) << ComputeTypeName(type);
  }
  model.set_compute(ComputeType::kFp32);
  EXPECT_TRUE(run(model, &d_model) == want);
  std::vector<ParamRef<float>> pm = model.Params(), pr = ref.Params();
  for (size_t i = 0; i < pm.size(); ++i) {
    EXPECT_TRUE(std::equal(pm[i].grad, pm[i].grad + pm[i].size, pr[i].grad)) << pm[i].name;
  }
  Dlrm<double> dbl(cfg, kDense, kSparse, 8, 5);
  EXPECT_THROW(dbl.set_compute(ComputeType::kBf16), Error);
}

TEST(ModelComputeType, SequenceEncoderBlocksComputeInTheSetType) {
  config::SequenceModelConfig cfg;
  cfg.set_num_blocks(2);
  cfg.set_num_heads(2);
  cfg.set_head_dim(8);
  SequenceLayout layout;
  layout.offsets = {0, 40, 45, 100};
  for (int64_t t = 0; t < 100; ++t) layout.timestamps.push_back(100 + t * t * 97);
  const Mat<float> emb = RandomMat(100, 16, 3).cast<float>();
  for (EncoderKind kind : {EncoderKind::kHstu, EncoderKind::kSasRec}) {
    SequenceEncoder<float> ref(kind, cfg, 16, 64, 11), enc(kind, cfg, 16, 64, 11);
    const Mat<float> want = ref.Forward(emb, layout);
    enc.set_compute(ComputeType::kBf16);
    EXPECT_EQ(enc.compute(), ComputeType::kBf16);
    const Mat<float> got = enc.Forward(emb, layout);
    EXPECT_GT(RelDiff(got, want), 0.0);
    EXPECT_LT(RelDiff(got, want), 64 * std::ldexp(1.0, -8));
    enc.set_compute(ComputeType::kFp32);
    EXPECT_TRUE(enc.Forward(emb, layout) == want);
  }
  SequenceEncoder<double> dbl(EncoderKind::kHstu, cfg, 16, 64, 11);
  EXPECT_THROW(dbl.set_compute(ComputeType::kFp16), Error);
}

}  // namespace
}  // namespace shardrec
