// SiluArray / SiluBackwardArray against the formulas evaluated in long double,
// over ordinary values, the extremes where exp overflows, and NaN; lengths that
// are not a multiple of any vector width, and whole matrices split across threads.
#include "shardrec/nn/silu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace shardrec {
namespace {

long double RefSigmoid(long double s) { return 1.0L / (1.0L + std::exp(-s)); }
long double RefSilu(long double s) { return s * RefSigmoid(s); }
long double RefSiluGrad(long double s) {
  const long double g = RefSigmoid(s);
  return g * (1.0L + s * (1.0L - g));
}

// Values from -120 to 120 (past float exp's overflow at 88.7) plus zeros and
// the largest finite values.
template <typename T>
std::vector<T> Inputs() {
  std::vector<T> v;
  for (int k = -12000; k <= 12000; k += 7) v.push_back(static_cast<T>(k) / T(100));
  for (T x : {T(0), -T(0), std::numeric_limits<T>::max(), std::numeric_limits<T>::lowest(), T(-1e30), T(1e30)})
    v.push_back(x);
  return v;
}

// |got - want| within a few units in the last place of `size` (the size of
// the terms the result is made of: for silu' = g (1 + s (1 - g)) that is
// g (1 + |s|), whose sum cancels near s = -1.28 and for large s); results
// within 1000 smallest normals of 0 count as 0 (past exp's overflow, near
// s = -89 in float, the sigmoid is flushed to 0 a little early).
template <typename T>
void ExpectUlps(const char* what, T s, T got, long double want, long double size) {
  const long double eps = std::numeric_limits<T>::epsilon();
  const long double tol = std::max(8 * eps * size, 1000.0L * std::numeric_limits<T>::min());
  EXPECT_LE(std::fabs(static_cast<long double>(got) - want), tol)
      << what << " at s = " << s << ": got " << got << ", want " << static_cast<double>(want);
}
template <typename T>
void ExpectSilu(const char* what, T s, T got, long double scale) {
  const long double want = scale * RefSilu(s);
  ExpectUlps(what, s, got, want, std::fabs(want));
}
template <typename T>
void ExpectSiluGrad(const char* what, T s, T got, long double scale) {
  ExpectUlps(what, s, got, scale * RefSiluGrad(s), std::fabs(scale) * RefSigmoid(s) * (1 + std::fabs(s)));
}

template <typename T>
void CheckAgainstReference() {
  const std::vector<T> s = Inputs<T>();
  const T scale = T(0.25);
  std::vector<T> y(s.size()), grad(s.size(), T(3)), w(s.size());
  SiluArray(s.data(), static_cast<int64_t>(s.size()), scale, y.data());
  SiluBackwardArray(s.data(), static_cast<int64_t>(s.size()), scale, grad.data(), w.data());
  for (size_t k = 0; k < s.size(); ++k) {
    ExpectSilu("silu", s[k], y[k], scale);
    ExpectSilu("silu (backward's copy)", s[k], w[k], scale);
    ExpectSiluGrad("grad", s[k], grad[k], 3 * scale);
    EXPECT_EQ(y[k], w[k]) << "forward and backward disagree at " << s[k];
  }
}

TEST(Silu, FloatMatchesReference) { CheckAgainstReference<float>(); }
TEST(Silu, DoubleMatchesReference) { CheckAgainstReference<double>(); }

TEST(Silu, NanStaysNan) {
  const float s[3] = {1.0f, std::nanf(""), -1.0f};
  float y[3], g[3] = {1, 1, 1};
  SiluArray(s, 3, 1.0f, y);
  SiluBackwardArray(s, 3, 1.0f, g, static_cast<float*>(nullptr));
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_TRUE(std::isnan(g[1]));
  EXPECT_FALSE(std::isnan(y[0]) || std::isnan(y[2]) || std::isnan(g[0]) || std::isnan(g[2]));
}

TEST(Silu, InPlaceThreadedAndAloneMatchReference) {
  // 300,001 values, split into parallel chunks; in place gives the same values,
  // and a value computed alone is as accurate as one inside a vector.
  const int64_t n = 300001;
  std::vector<float> s(n), y(n), g(n, 1.0f);
  for (int64_t k = 0; k < n; ++k) s[k] = static_cast<float>((k * 7919) % 20001 - 10000) / 500.0f;
  std::vector<float> in_place = s;
  SiluArray(s.data(), n, 0.5f, y.data());
  SiluArray(in_place.data(), n, 0.5f, in_place.data());
  SiluBackwardArray(s.data(), n, 0.5f, g.data(), static_cast<float*>(nullptr));
  for (int64_t k = 0; k < n; k += 997) {
    float one, one_g = 1.0f;
    SiluArray(&s[k], 1, 0.5f, &one);
    SiluBackwardArray(&s[k], 1, 0.5f, &one_g, static_cast<float*>(nullptr));
    ExpectSilu("silu", s[k], y[k], 0.5L);
    EXPECT_EQ(in_place[k], y[k]) << k;
    ExpectSilu("silu alone", s[k], one, 0.5L);
    ExpectSiluGrad("grad", s[k], g[k], 0.5L);
    ExpectSiluGrad("grad alone", s[k], one_g, 0.5L);
  }
}

}  // namespace
}  // namespace shardrec
