#include "shardrec/nn/silu.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "shardrec/core/cpu_dispatch.h"

namespace shardrec {
namespace {

// Whole activation matrices are split across threads; a row of attention
// scores (called from inside a parallel region) is not.
constexpr int64_t kParallelMin = int64_t{1} << 16;
constexpr int64_t kChunk = int64_t{1} << 14;

template <typename F>
void ForChunks(int64_t n, F&& f) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < chunks; ++c) f(c * kChunk, std::min(kChunk, n - c * kChunk));
}

// 1 / (1 + exp(-x)) in float, written for the compiler to vectorise at the
// CPU's full width (Eigen's exp is limited to the build's baseline SSE2).
// exp(y) = 2^n exp(r) with n = round(y / ln 2), r = y - n ln 2 in [-ln2/2,
// ln2/2] (ln 2 in two parts, so r is exact), exp(r) by its degree-6 Taylor-like
// minimax polynomial (relative error ~1e-7); 2^n is built in the exponent bits.
// y is clamped to [-87, 88]: past it the sigmoid is 0 or 1 to float precision
// anyway. NaN passes through the arithmetic unchanged.
inline float SigmoidF(float x) {
  const float y0 = -x;
  float y = y0 < -87.0f ? -87.0f : y0;
  y = y > 88.0f ? 88.0f : y;
  // Rounding to nearest by adding 1.5 * 2^23: n sits in the low mantissa bits.
  constexpr float kShift = 12582912.0f;
  const float t = y * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  const float r = (y - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t t_bits, shift_bits;
  std::memcpy(&t_bits, &t, 4);
  std::memcpy(&shift_bits, &kShift, 4);
  const uint32_t two_n_bits = (t_bits - shift_bits + 127u) << 23;  // 2^n: n + 127 in 1..254
  float two_n;
  std::memcpy(&two_n, &two_n_bits, 4);
  // Past 88, exp(-x) is taken as inf, so the sigmoid is exactly 0 and
  // x * sigmoid(x) is 0 for any finite x, however large.
  const float e = y0 > 88.0f ? std::numeric_limits<float>::infinity() : p * two_n;
  return 1.0f / (1.0f + e);
}

SHARDREC_ROW_KERNEL void SiluRowF(const float* s, int64_t n, float scale, float* out) {
  for (int64_t k = 0; k < n; ++k) out[k] = scale * s[k] * SigmoidF(s[k]);
}

SHARDREC_ROW_KERNEL void SiluBackwardRowF(const float* s, int64_t n, float scale, float* grad, float* out) {
  for (int64_t k = 0; k < n; ++k) {
    const float x = s[k], g = SigmoidF(x);
    grad[k] *= scale * g * (1.0f + x * (1.0f - g));
    out[k] = scale * x * g;
  }
}

SHARDREC_ROW_KERNEL void SiluGradRowF(const float* s, int64_t n, float scale, float* grad) {
  for (int64_t k = 0; k < n; ++k) {
    const float x = s[k], g = SigmoidF(x);
    grad[k] *= scale * g * (1.0f + x * (1.0f - g));
  }
}

// double (the layers' gradient-check precision): Eigen's exp is exact enough
// and speed matters little.
template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

void SiluRow(const double* s, int64_t n, double scale, double* out) {
  const ConstArrayMap<double> x(s, n);
  ArrayMap<double>(out, n) = scale * x * (1.0 + (-x).exp()).inverse();
}
void SiluBackwardRow(const double* s, int64_t n, double scale, double* grad, double* out) {
  const ConstArrayMap<double> x(s, n);
  const Eigen::ArrayXd g = (1.0 + (-x).exp()).inverse();
  ArrayMap<double>(grad, n) *= scale * g * (1.0 + x * (1.0 - g));
  if (out != nullptr) ArrayMap<double>(out, n) = scale * x * g;
}
void SiluRow(const float* s, int64_t n, float scale, float* out) { SiluRowF(s, n, scale, out); }
void SiluBackwardRow(const float* s, int64_t n, float scale, float* grad, float* out) {
  out != nullptr ? SiluBackwardRowF(s, n, scale, grad, out) : SiluGradRowF(s, n, scale, grad);
}

}  // namespace

template <typename T>
void SiluArray(const T* s, int64_t n, T scale, T* out) {
  ForChunks(n, [&](int64_t begin, int64_t len) { SiluRow(s + begin, len, scale, out + begin); });
}

template <typename T>
void SiluBackwardArray(const T* s, int64_t n, T scale, T* grad, T* out) {
  ForChunks(n, [&](int64_t begin, int64_t len) {
    SiluBackwardRow(s + begin, len, scale, grad + begin, out == nullptr ? nullptr : out + begin);
  });
}

template void SiluArray<float>(const float*, int64_t, float, float*);
template void SiluArray<double>(const double*, int64_t, double, double*);
template void SiluBackwardArray<float>(const float*, int64_t, float, float*, float*);
template void SiluBackwardArray<double>(const double*, int64_t, double, double*, double*);

}  // namespace shardrec
