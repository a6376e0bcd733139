// The sequence encoder (input embedding, blocks, normalisation) as a whole:
// finite differences for HSTU and SASRec, and KV-cached candidate scoring
// against the full target-aware forward.
#include "shardrec/models/sequence_encoder.h"

#include <gtest/gtest.h>

#include "grad_check.h"
#include "test_util.h"

namespace shardrec {
namespace {

config::SequenceModelConfig SmallConfig() {
  config::SequenceModelConfig c;
  c.set_num_blocks(2);
  c.set_num_heads(2);
  c.set_head_dim(3);
  c.set_dropout(0.2);
  return c;
}

SequenceLayout Layout(bool targets) {
  SequenceLayout l;
  l.offsets = {0, 7, 8, 12};
  if (targets) l.num_targets = {2, 0, 1};
  for (int64_t t = 0; t < 12; ++t) {
    l.timestamps.push_back(100 + t * t * 97);
    l.token_keys.push_back(Hash3(4, 5, static_cast<uint64_t>(t)));
  }
  return l;
}

void CheckGradients(EncoderKind kind, bool targets) {
  SequenceEncoder<double> enc(kind, SmallConfig(), 6, 9, 11);
  const SequenceLayout layout = Layout(targets);
  Mat<double> emb = testing::RandomMat(12, 6, 1), d_emb;
  const Mat<double> r = testing::RandomMat(12, 6, 2);
  auto loss = [&]() { return testing::Project(r, enc.Forward(emb, layout)); };
  enc.Forward(emb, layout);
  enc.Backward(r, &d_emb);
  testing::ExpectGradMatches("item embeddings", &emb, d_emb, loss, 1e-6);
  for (const ParamRef<double>& p : enc.Params()) {
    testing::ExpectGradMatches(p.name, p.value, p.grad, std::min<size_t>(p.size, 30), loss, 1e-6);
  }
}

TEST(SequenceEncoder, HstuGradientsMatchFiniteDifferences) { CheckGradients(EncoderKind::kHstu, false); }
TEST(SequenceEncoder, HstuWithTargetsGradientsMatchFiniteDifferences) { CheckGradients(EncoderKind::kHstu, true); }
TEST(SequenceEncoder, SasRecGradientsMatchFiniteDifferences) { CheckGradients(EncoderKind::kSasRec, false); }

TEST(SequenceEncoder, OutputsAreUnitRows) {
  SequenceEncoder<float> enc(EncoderKind::kHstu, SmallConfig(), 6, 9, 11);
  const Mat<float> out = enc.Forward(testing::RandomMat(12, 6, 3).cast<float>(), Layout(false));
  for (int r = 0; r < out.rows(); ++r) EXPECT_NEAR(out.row(r).norm(), 1.0f, 1e-5f);
}

// Scoring candidates through the KV cache equals the candidate rows of a full
// forward over [history + candidates] with num_targets, and history rows equal too.
TEST(SequenceEncoder, KvCachedCandidatesEqualFullForward) {
  SequenceEncoder<double> enc(EncoderKind::kHstu, SmallConfig(), 6, 9, 11);
  SequenceLayout full = Layout(true);
  full.token_keys.clear();  // inference: no dropout
  const Mat<double> emb = testing::RandomMat(12, 6, 4);
  const Mat<double> want = enc.Forward(emb, full);
  SequenceLayout hist, cand;
  hist.offsets = cand.offsets = {0};
  std::vector<int> hrows, crows;
  for (int64_t b = 0; b < full.batch(); ++b) {
    const int h = full.length(b) - full.targets(b);
    for (int i = 0; i < full.length(b); ++i) {
      const int row = static_cast<int>(full.offsets[b]) + i;
      (i < h ? hrows : crows).push_back(row);
      (i < h ? hist.timestamps : cand.timestamps).push_back(full.timestamps[row]);
    }
    hist.offsets.push_back(static_cast<int64_t>(hrows.size()));
    cand.offsets.push_back(static_cast<int64_t>(crows.size()));
  }
  SequenceKvCache<double> cache;
  const Mat<double> got_h = enc.EncodeHistory(emb(hrows, Eigen::all), hist, &cache);
  const Mat<double> got_c = enc.EncodeCandidates(emb(crows, Eigen::all), cand, cache);
  EXPECT_LT((got_h - want(hrows, Eigen::all)).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_LT((got_c - want(crows, Eigen::all)).cwiseAbs().maxCoeff(), 1e-13);
}

// Recomputation changes memory, not numbers: outputs, parameter gradients and
// input gradients are bitwise those of the no-recompute run (fp32, dropout on),
// and the activations held shrink in the order none > selective > full.
void CheckRecomputeBitwise(EncoderKind kind, std::vector<config::RecomputeMode> modes) {
  config::SequenceModelConfig c = SmallConfig();
  c.set_num_blocks(4);
  const SequenceLayout layout = Layout(false);
  const Mat<float> emb = testing::RandomMat(12, 6, 9).cast<float>();
  const Mat<float> r = testing::RandomMat(12, 6, 10).cast<float>();
  std::vector<Mat<float>> outs, d_embs;
  std::vector<std::vector<float>> grads;
  std::vector<size_t> peaks;
  for (config::RecomputeMode m : modes) {
    c.set_recompute(m);
    SequenceEncoder<float> enc(kind, c, 6, 9, 11);
    outs.push_back(enc.Forward(emb, layout));
    Mat<float> d;
    enc.Backward(r, &d);
    d_embs.push_back(d);
    std::vector<float> g;
    for (const ParamRef<float>& p : enc.Params()) g.insert(g.end(), p.grad, p.grad + p.size);
    grads.push_back(g);
    peaks.push_back(enc.peak_activation_bytes());
  }
  for (size_t i = 1; i < modes.size(); ++i) {
    const std::string mode = config::RecomputeMode_Name(modes[i]);
    EXPECT_TRUE(outs[i] == outs[0]) << mode << ": outputs differ";
    EXPECT_TRUE(d_embs[i] == d_embs[0]) << mode << ": input gradients differ";
    EXPECT_TRUE(grads[i] == grads[0]) << mode << ": parameter gradients differ";
    EXPECT_LT(peaks[i], peaks[i - 1]) << mode << " holds no less than the previous mode";
  }
}

TEST(SequenceEncoder, HstuRecomputeIsBitwiseAndSmaller) {
  CheckRecomputeBitwise(EncoderKind::kHstu, {config::NONE, config::SELECTIVE, config::FULL});
}

TEST(SequenceEncoder, SasRecFullRecomputeIsBitwiseAndSmaller) {
  CheckRecomputeBitwise(EncoderKind::kSasRec, {config::NONE, config::FULL});
}

TEST(SequenceEncoder, ErrorsNameTheKey) {
  config::SequenceModelConfig c = SmallConfig();
  c.set_head_dim(0);
  c.set_num_heads(4);
  EXPECT_NE(testing::ErrorOf([&] {
              SequenceEncoder<float>(EncoderKind::kHstu, c, 6, 9, 1);
            }).find("does not divide by num_heads 4"),
            std::string::npos);
  EXPECT_NE(testing::ErrorOf([] { ParseEncoderKind("gpt"); }).find("model.type: 'gpt'"), std::string::npos);
  config::SequenceModelConfig s = SmallConfig();
  s.set_recompute(config::SELECTIVE);
  EXPECT_NE(testing::ErrorOf([&] {
              SequenceEncoder<float>(EncoderKind::kSasRec, s, 6, 9, 1);
            }).find("model.sequence.recompute: SELECTIVE is implemented for HSTU blocks"),
            std::string::npos);
}

}  // namespace
}  // namespace shardrec
