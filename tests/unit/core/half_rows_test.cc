// The 16-bit formats (kernels/common/half_bits.h through the vectorised row
// kernels of half_rows.h) against Eigen's scalar bfloat16 / half on every
// class of input, every 16-bit pattern widened, and stochastic rounding's two
// promises: it lands on one of the two neighbours, and it is unbiased.
#include "shardrec/core/half_rows.h"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "shardrec/core/rng.h"

namespace shardrec {
namespace {

using kernels::BitsOf;

// Every class of input: specials, ties, subnormals, overflow, random bit
// patterns and random magnitudes.
std::vector<float> Probes() {
  std::vector<float> values = {0.0f,
                               -0.0f,
                               1.0f,
                               -1.0f,
                               std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::quiet_NaN(),
                               -std::numeric_limits<float>::quiet_NaN(),
                               std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::min(),
                               std::numeric_limits<float>::denorm_min(),
                               65504.0f,
                               65519.0f,
                               65520.0f,
                               -65520.0f,
                               std::ldexp(1.0f, -14),
                               std::ldexp(1.0f, -24),
                               std::ldexp(1.0f, -25),
                               std::ldexp(3.0f, -26),
                               std::ldexp(1.0f, -15) * 1.5f,
                               1.0f + std::ldexp(1.0f, -8),    // bf16 tie, rounds to even (down)
                               1.0f + std::ldexp(3.0f, -8),    // bf16 tie, rounds to even (up)
                               1.0f + std::ldexp(1.0f, -11),   // fp16 tie
                               1.0f + std::ldexp(3.0f, -11)};  // fp16 tie
  CounterRng rng(11, 4, 0);
  for (int i = 0; i < 200000; ++i) {
    const uint32_t u = static_cast<uint32_t>(rng.NextU64());
    float f;
    std::memcpy(&f, &u, sizeof f);
    values.push_back(f);
    values.push_back(static_cast<float>(rng.Normal() * std::ldexp(1.0, static_cast<int>(rng.Uniform(-30, 20)))));
  }
  return values;
}

bool SameOrBothNan(float a, float b) { return BitsOf(a) == BitsOf(b) || (std::isnan(a) && std::isnan(b)); }

TEST(HalfRows, NarrowAndRoundMatchEigen) {
  const std::vector<float> values = Probes();
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<uint16_t> bf16_bits(n), fp16_bits(n);
  std::vector<float> bf16(n), fp16(n);
  NarrowRow(HalfType::kBf16, values.data(), n, bf16_bits.data());
  NarrowRow(HalfType::kFp16, values.data(), n, fp16_bits.data());
  RoundRow(HalfType::kBf16, values.data(), n, bf16.data());
  RoundRow(HalfType::kFp16, values.data(), n, fp16.data());
  int failures = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float x = values[i];
    const Eigen::bfloat16 eb(x);
    const Eigen::half eh(x);
    const bool ok = bf16_bits[i] == Eigen::numext::bit_cast<uint16_t>(eb) &&
                    fp16_bits[i] == Eigen::numext::bit_cast<uint16_t>(eh) &&
                    SameOrBothNan(bf16[i], static_cast<float>(eb)) && SameOrBothNan(fp16[i], static_cast<float>(eh));
    if (!ok && failures++ < 10) {
      ADD_FAILURE() << std::hexfloat << x << ": bf16 " << std::hex << bf16_bits[i] << " vs Eigen "
                    << Eigen::numext::bit_cast<uint16_t>(eb) << ", fp16 " << fp16_bits[i] << " vs Eigen "
                    << Eigen::numext::bit_cast<uint16_t>(eh);
    }
  }
  EXPECT_EQ(failures, 0);
}

// Widening is exact, so every one of the 65536 patterns must match Eigen, and
// narrowing the widened value must give the pattern back (NaNs: a NaN).
TEST(HalfRows, EveryPatternWidensExactlyAndRoundTrips) {
  std::vector<uint16_t> all(65536), back(65536);
  for (int i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> wide(65536);
  for (HalfType type : {HalfType::kBf16, HalfType::kFp16}) {
    WidenRow(type, all.data(), 65536, wide.data());
    NarrowRow(type, wide.data(), 65536, back.data());
    for (int i = 0; i < 65536; ++i) {
      const float want = type == HalfType::kBf16 ? static_cast<float>(Eigen::numext::bit_cast<Eigen::bfloat16>(all[i]))
                                                 : static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(all[i]));
      ASSERT_TRUE(SameOrBothNan(wide[i], want)) << "pattern " << std::hex << i;
      if (!std::isnan(want)) {
        ASSERT_EQ(back[i], all[i]) << "pattern " << std::hex << i;
      }
    }
  }
}

// The two 16-bit values around x (equal when x is representable).
void Neighbours(HalfType type, float x, float* lo, float* hi) {
  const float nearest = kernels::FloatFromHalf(type, kernels::HalfBits(type, x));
  uint16_t h = kernels::HalfBits(type, x);
  // One pattern step away from zero or towards it, in the direction of x.
  const bool away = std::fabs(x) > std::fabs(nearest);
  const uint16_t other_bits = static_cast<uint16_t>(away ? h + 1 : h - 1);
  const float other = nearest == x ? nearest : kernels::FloatFromHalf(type, other_bits);
  *lo = std::min(nearest, other);
  *hi = std::max(nearest, other);
}

TEST(HalfRows, StochasticRoundingLandsOnANeighbourAndIsUnbiased) {
  CounterRng rng(5, 6, 7);
  for (HalfType type : {HalfType::kBf16, HalfType::kFp16}) {
    for (int v = 0; v < 200; ++v) {
      // Normals and (for fp16) subnormals, both signs.
      const double scale = std::ldexp(1.0, static_cast<int>(rng.Uniform(type == HalfType::kFp16 ? -26 : -60, 14)));
      const float x = static_cast<float>(rng.Uniform(-1, 1) * scale);
      float lo, hi;
      Neighbours(type, x, &lo, &hi);
      constexpr int kDraws = 20000;
      std::vector<float> in(kDraws, x), out(kDraws);
      std::vector<uint16_t> bits(kDraws);
      NarrowRowStochastic(type, in.data(), kDraws, /*key=*/static_cast<uint32_t>(v), 0, bits.data());
      WidenRow(type, bits.data(), kDraws, out.data());
      double sum = 0;
      for (float o : out) {
        ASSERT_TRUE(o == lo || o == hi) << std::hexfloat << x << " rounded to " << o << ", not " << lo << " or " << hi;
        sum += o;
      }
      // The mean of kDraws Bernoulli choices between lo and hi: standard error
      // (hi - lo) / (2 sqrt(kDraws)); allow 5 of them.
      const double tolerance = 5.0 * (static_cast<double>(hi) - lo) / (2.0 * std::sqrt(double{kDraws})) + 1e-30;
      EXPECT_NEAR(sum / kDraws, x, tolerance) << std::hexfloat << x;
    }
  }
}

TEST(HalfRows, StochasticRoundingKeepsSpecialsAndExactValues) {
  const std::vector<float> in = {0.0f,
                                 -0.0f,
                                 1.0f,
                                 -2.5f,
                                 std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::quiet_NaN(),
                                 std::ldexp(1.0f, -24)};
  std::vector<uint16_t> bits(in.size());
  std::vector<float> out(in.size());
  for (HalfType type : {HalfType::kBf16, HalfType::kFp16}) {
    for (uint32_t key = 0; key < 64; ++key) {
      NarrowRowStochastic(type, in.data(), static_cast<int64_t>(in.size()), key, 0, bits.data());
      WidenRow(type, bits.data(), static_cast<int64_t>(in.size()), out.data());
      for (size_t i = 0; i < in.size(); ++i) EXPECT_TRUE(SameOrBothNan(out[i], in[i])) << in[i] << " key " << key;
    }
  }
}

// Why embedding rows are stored with stochastic rounding: updates smaller than
// half a bf16 ulp vanish under round-to-nearest, while stochastic rounding
// follows the fp32 trajectory in expectation.
TEST(HalfRows, SmallUpdatesSurviveStochasticRoundingOnly) {
  constexpr int kCols = 256, kSteps = 1000;
  constexpr float kUpdate = 1e-4f;  // bf16 ulp at 1.0 is 2^-7 = 0.0078
  std::vector<float> exact(kCols, 1.0f), nearest(kCols, 1.0f), stochastic(kCols, 1.0f), tmp(kCols);
  std::vector<uint16_t> bits(kCols);
  for (int step = 0; step < kSteps; ++step) {
    for (int c = 0; c < kCols; ++c) {
      exact[c] -= kUpdate;
      nearest[c] -= kUpdate;
      tmp[c] = stochastic[c] - kUpdate;
    }
    RoundRow(HalfType::kBf16, nearest.data(), kCols, nearest.data());
    NarrowRowStochastic(HalfType::kBf16, tmp.data(), kCols, static_cast<uint32_t>(step), 0, bits.data());
    WidenRow(HalfType::kBf16, bits.data(), kCols, stochastic.data());
  }
  double mean_stochastic = 0;
  for (int c = 0; c < kCols; ++c) mean_stochastic += stochastic[c] / kCols;
  EXPECT_EQ(nearest[0], 1.0f);                   // every update was rounded away
  EXPECT_NEAR(exact[0], 0.9f, 1e-4);             // fp32 moved by 0.1
  EXPECT_NEAR(mean_stochastic, exact[0], 2e-3);  // and so did the stochastic rows, on average
}

}  // namespace
}  // namespace shardrec
