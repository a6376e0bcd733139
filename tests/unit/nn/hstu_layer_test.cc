// The HSTU layer against golden tensors from scripts/reference/sequence_layers.py
// (an independent PyTorch implementation, itself checked jagged == padded),
// against finite differences, and the bias index formulas on known values.
#include "shardrec/nn/hstu_layer.h"

#include <gtest/gtest.h>

#include "common/hstu_bias.h"
#include "golden_file.h"
#include "grad_check.h"
#include "test_util.h"

namespace shardrec {
namespace {

using testing::GoldenFile;

TEST(HstuBias, TimeBucketsOnKnownValues) {
  const kernels::HstuBucketTable table = kernels::MakeHstuBucketTable();
  // floor(ln(max(|dt|, 1)) / 0.301), clamped to 0..128.
  const std::pair<int64_t, int> known[] = {{0, 0},     {1, 0},         {-1, 0},          {2, 2},
                                           {3, 3},     {10, 7},        {-10, 7},         {86400, 37},
                                           {3600, 27}, {31536000, 57}, {INT64_MAX, 128}, {-INT64_MAX, 128}};
  for (const auto& [dt, bucket] : known) {
    EXPECT_EQ(kernels::HstuTimeBucketByFormula(dt), bucket) << "dt " << dt;
    EXPECT_EQ(kernels::HstuTimeBucket(table, dt), bucket) << "dt " << dt;
  }
  // The table agrees with the formula at and around every threshold.
  for (int b = 1; b < kernels::kHstuTimeBuckets; ++b) {
    for (int64_t d : {table.thresholds[b] - 1, table.thresholds[b], table.thresholds[b] + 1}) {
      EXPECT_EQ(kernels::HstuTimeBucket(table, d), kernels::HstuTimeBucketByFormula(d)) << "dt " << d;
    }
  }
  // The O(1) lookup starts at the bucket of 2^e and may step 3 times: no power
  // of two may span more.
  for (int e = 0; e < 63; ++e) {
    const int64_t lo = int64_t{1} << e, hi = e == 62 ? INT64_MAX : (int64_t{1} << (e + 1)) - 1;
    EXPECT_LE(kernels::HstuTimeBucketByFormula(hi) - kernels::HstuTimeBucketByFormula(lo), 3) << "2^" << e;
    EXPECT_EQ(table.first_of_log2[e], kernels::HstuTimeBucketByFormula(lo)) << "2^" << e;
  }
  // Random magnitudes over every scale, and the one value whose |dt| overflows.
  uint64_t x = 88172645463325252ull;
  for (int k = 0; k < 200000; ++k) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
    const int64_t d = static_cast<int64_t>(x >> (x % 63));
    ASSERT_EQ(kernels::HstuTimeBucket(table, d), kernels::HstuTimeBucketByFormula(d)) << "dt " << d;
    ASSERT_EQ(kernels::HstuTimeBucket(table, -d), kernels::HstuTimeBucketByFormula(-d)) << "dt " << -d;
  }
  EXPECT_EQ(kernels::HstuTimeBucket(table, INT64_MIN), kernels::kHstuTimeBuckets - 1);
}

TEST(HstuBias, PositionIndexAndMask) {
  // Plain causal, N = 5, length 5: w_p[N - 1 + j - i].
  EXPECT_EQ(kernels::HstuPositionBiasIndex(3, 1, 5, 5), 2);
  EXPECT_EQ(kernels::HstuPositionBiasIndex(0, 0, 5, 5), 4);
  EXPECT_EQ(kernels::HstuPositionBiasIndex(4, 0, 5, 5), 0);
  // Length 5 with 2 candidates: history 3, candidates sit at position 3.
  EXPECT_EQ(kernels::HstuPositionBiasIndex(4, 1, 3, 5), 2);
  EXPECT_EQ(kernels::HstuPositionBiasIndex(4, 4, 3, 5), 4);
  EXPECT_EQ(kernels::HstuPositionBiasIndex(3, 4, 3, 5), 4);
  EXPECT_TRUE(kernels::HstuVisible(2, 2, 3));
  EXPECT_TRUE(kernels::HstuVisible(2, 0, 3));
  EXPECT_FALSE(kernels::HstuVisible(1, 2, 3));
  EXPECT_TRUE(kernels::HstuVisible(4, 2, 3));       // candidate sees history
  EXPECT_TRUE(kernels::HstuVisible(4, 4, 3));       // and itself
  EXPECT_FALSE(kernels::HstuVisible(4, 3, 3));      // never another candidate
  EXPECT_FALSE(kernels::HstuVisible(2, 3, 3));      // history never sees candidates
  EXPECT_EQ(kernels::HstuQueryTimeIndex(1, 5), 2);  // history: the next token
  EXPECT_EQ(kernels::HstuQueryTimeIndex(4, 5), 4);  // the last reuses its own
  EXPECT_EQ(kernels::HstuQueryTimeIndex(2, 3), 2);  // last history token before candidates
  EXPECT_EQ(kernels::HstuQueryTimeIndex(3, 3), 3);  // candidates: their own
  EXPECT_EQ(kernels::HstuQueryTimeIndex(4, 3), 4);
}

template <typename T>
struct GoldenCase {
  SequenceLayout layout;
  Mat<T> x, dy;
  std::unique_ptr<HstuLayer<T>> layer;
};

template <typename T>
GoldenCase<T> LoadCase(const GoldenFile& g) {
  GoldenCase<T> c;
  HstuLayerShape shape;
  shape.dim = g.Int("D");
  shape.heads = g.Int("H");
  shape.dqk = g.Int("dqk");
  shape.dv = g.Int("dv");
  shape.max_len = g.Int("N");
  c.layer = std::make_unique<HstuLayer<T>>(shape, 1, 2);
  c.layout.offsets = g.Ints<int64_t>("offsets");
  c.layout.timestamps = g.Ints<int64_t>("timestamps");
  c.layout.num_targets = g.Ints<int32_t>("num_targets");
  const int64_t tokens = c.layout.tokens();
  c.x.resize(tokens, shape.dim);
  c.dy.resize(tokens, shape.dim);
  g.Load("x", &c.x);
  g.Load("dy", &c.dy);
  g.Load("w_uvqk", &c.layer->w_uvqk());
  g.Load("w_o", &c.layer->w_o());
  g.Load("b_o", &c.layer->b_o());
  g.Load("w_p", &c.layer->pos_bias());
  g.Load("w_t", &c.layer->time_bias());
  return c;
}

template <typename T>
void CheckAgainstGolden(const std::string& file, double tol) {
  const GoldenFile g(testing::SourceDir() + "/tests/golden/" + file);
  GoldenCase<T> c = LoadCase<T>(g);
  Mat<T> y, dx;
  c.layer->Forward(c.x, c.layout, &y);
  testing::ExpectClose(file + " y", y.data(), g["y"], tol);
  c.layer->Backward(c.dy, &dx);
  testing::ExpectClose(file + " grad_x", dx.data(), g["grad_x"], tol);
  const std::vector<ParamRef<T>> params = c.layer->Params();
  const char* golden_names[] = {"grad_w_uvqk", "grad_w_o", "grad_b_o", "grad_w_p", "grad_w_t"};
  ASSERT_EQ(params.size(), 5u);
  for (size_t i = 0; i < params.size(); ++i) {
    testing::ExpectClose(file + " " + golden_names[i], params[i].grad, g[golden_names[i]], tol);
  }
}

TEST(HstuLayer, MatchesReferenceCausal) {
  CheckAgainstGolden<double>("hstu_layer_causal.txt", 1e-11);
  CheckAgainstGolden<float>("hstu_layer_causal.txt", 2e-5);
}

TEST(HstuLayer, MatchesReferenceWithTargets) {
  CheckAgainstGolden<double>("hstu_layer_targets.txt", 1e-11);
  CheckAgainstGolden<float>("hstu_layer_targets.txt", 2e-5);
}

// A sequence's output does not depend on the other sequences of its batch: no
// padding-length or batch-composition effects (N is the configured max_len).
TEST(HstuLayer, EachSequenceAloneEqualsBatched) {
  const GoldenFile g(testing::SourceDir() + "/tests/golden/hstu_layer_targets.txt");
  GoldenCase<double> c = LoadCase<double>(g);
  Mat<double> y;
  c.layer->Forward(c.x, c.layout, &y);
  for (int64_t b = 0; b < c.layout.batch(); ++b) {
    const int64_t off = c.layout.offsets[b];
    const int len = c.layout.length(b);
    SequenceLayout one;
    one.offsets = {0, len};
    one.timestamps.assign(c.layout.timestamps.begin() + off, c.layout.timestamps.begin() + off + len);
    one.num_targets = {c.layout.num_targets[b]};
    Mat<double> x1 = c.x.middleRows(off, len), y1;
    c.layer->Forward(x1, one, &y1);
    EXPECT_LT((y1 - y.middleRows(off, len)).cwiseAbs().maxCoeff(), 1e-13) << "sequence " << b;
  }
}

// Finite differences with dropout on (masks are fixed by the token keys), long
// enough sequences to span several attention tiles, and candidates.
TEST(HstuLayer, GradientsMatchFiniteDifferences) {
  HstuLayerShape shape;
  shape.dim = 6;
  shape.heads = 2;
  shape.dqk = 3;
  shape.dv = 2;
  shape.max_len = 150;
  shape.dropout = 0.25;
  HstuLayer<double> layer(shape, 5, 6);
  // Bigger weights than the default init, so every term matters.
  layer.w_uvqk() = testing::RandomMat(shape.dim, layer.w_uvqk().cols(), 1);
  layer.w_o() = testing::RandomMat(layer.w_o().rows(), shape.dim, 2);
  layer.pos_bias() = testing::RandomMat(layer.pos_bias().size(), 1, 3);
  layer.time_bias() = testing::RandomMat(layer.time_bias().size(), 1, 4);
  SequenceLayout layout;
  layout.offsets = {0, 130, 133, 203};
  layout.num_targets = {0, 1, 4};
  for (int64_t t = 0; t < 203; ++t) {
    layout.timestamps.push_back(1000 + t * t * 37 % 5000);
    layout.token_keys.push_back(Hash3(9, 9, static_cast<uint64_t>(t)));
  }
  Mat<double> x = testing::RandomMat(203, shape.dim, 7), y, dx;
  const Mat<double> r = testing::RandomMat(203, shape.dim, 8);
  auto loss = [&]() {
    Mat<double> out;
    layer.Forward(x, layout, &out);
    return testing::Project(r, out);
  };
  layer.Forward(x, layout, &y);
  layer.Backward(r, &dx);
  // Check a subset of x's entries (the full set costs 2 forwards each).
  std::vector<size_t> picks;
  for (size_t k = 0; k < static_cast<size_t>(x.size()); k += 37) picks.push_back(k);
  for (size_t k : picks) {
    const double analytic = dx.data()[k];
    testing::ExpectGradMatches("x[" + std::to_string(k) + "]", x.data() + k, &analytic, 1, loss, 1e-6);
  }
  for (const ParamRef<double>& p : layer.Params()) {
    const size_t n = std::min<size_t>(p.size, 60);
    testing::ExpectGradMatches(p.name, p.value, p.grad, n, loss, 1e-6);
  }
}

// KV cache: history K/V kept, candidates computed alone, equal to a full forward
// over [history + candidates] with the target-aware mask.
TEST(HstuLayer, CachedCandidatesEqualFullForward) {
  const testing::GoldenFile g(testing::SourceDir() + "/tests/golden/hstu_layer_targets.txt");
  GoldenCase<double> c = LoadCase<double>(g);
  Mat<double> y_full;
  c.layer->Forward(c.x, c.layout, &y_full);
  // Split the golden batch into histories and candidates.
  SequenceLayout hist, cand;
  hist.offsets = cand.offsets = {0};
  Mat<double> xh(0, c.x.cols()), xc(0, c.x.cols());
  std::vector<int64_t> hist_rows, cand_rows;
  for (int64_t b = 0; b < c.layout.batch(); ++b) {
    const int64_t off = c.layout.offsets[b];
    const int len = c.layout.length(b), h = len - c.layout.targets(b);
    for (int i = 0; i < len; ++i) {
      (i < h ? hist_rows : cand_rows).push_back(off + i);
      (i < h ? hist.timestamps : cand.timestamps).push_back(c.layout.timestamps[off + i]);
    }
    hist.offsets.push_back(static_cast<int64_t>(hist_rows.size()));
    cand.offsets.push_back(static_cast<int64_t>(cand_rows.size()));
  }
  xh = c.x(hist_rows, Eigen::all);
  xc = c.x(cand_rows, Eigen::all);
  HstuLayerCache<double> cache;
  Mat<double> yh, yc;
  c.layer->ForwardAndCache(xh, hist, &yh, &cache);
  c.layer->ForwardCandidates(xc, hist, cache, cand, &yc);
  const Mat<double> want_h = y_full(hist_rows, Eigen::all), want_c = y_full(cand_rows, Eigen::all);
  EXPECT_LT((yh - want_h).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_LT((yc - want_c).cwiseAbs().maxCoeff(), 1e-13);
  // Candidates are independent of each other: scoring one alone gives the same row.
  SequenceLayout one = cand;
  for (int64_t b = 0; b < cand.batch(); ++b) {
    if (cand.length(b) < 2) continue;
    // Keep only the last candidate of sequence b, none elsewhere.
    one.offsets.assign(cand.batch() + 1, 0);
    for (int64_t k = b + 1; k <= cand.batch(); ++k) one.offsets[k] = 1;
    one.timestamps = {cand.timestamps[cand.offsets[b + 1] - 1]};
    Mat<double> x1 = xc.row(cand.offsets[b + 1] - 1), y1;
    c.layer->ForwardCandidates(x1, hist, cache, one, &y1);
    EXPECT_LT((y1.row(0) - want_c.row(cand.offsets[b + 1] - 1)).cwiseAbs().maxCoeff(), 1e-13);
  }
}

TEST(HstuLayer, RejectsSequencesLongerThanMaxLen) {
  HstuLayerShape shape{4, 1, 2, 2, 3, true, 0.0};
  HstuLayer<float> layer(shape, 1, 1);
  SequenceLayout layout;
  layout.offsets = {0, 4};
  Mat<float> x = Mat<float>::Zero(4, 4), y;
  EXPECT_NE(testing::ErrorOf([&] { layer.Forward(x, layout, &y); }).find("more than max_len 3"), std::string::npos);
}

}  // namespace
}  // namespace shardrec
