#include "shardrec/nn/silu.h"

#include <Eigen/Core>
#include <algorithm>

namespace shardrec {
namespace {

template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Whole activation matrices are split across threads; a row of attention
// scores (called from inside a parallel region) is not.
constexpr int64_t kParallelMin = int64_t{1} << 16;
constexpr int64_t kChunk = int64_t{1} << 14;
constexpr int kBlock = 256;

template <typename T, typename F>
void ForChunks(int64_t n, F&& f) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < chunks; ++c) f(c * kChunk, std::min(kChunk, n - c * kChunk));
}

}  // namespace

template <typename T>
void SiluArray(const T* s, int64_t n, T scale, T* out) {
  ForChunks<T>(n, [&](int64_t begin, int64_t len) {
    const ConstArrayMap<T> x(s + begin, len);
    ArrayMap<T>(out + begin, len) = scale * x * (T(1) + (-x).exp()).inverse();
  });
}

template <typename T>
void SiluBackwardArray(const T* s, int64_t n, T scale, T* grad, T* out) {
  ForChunks<T>(n, [&](int64_t begin, int64_t len) {
    // The sigmoid is needed twice: kept on the stack a block at a time.
    for (int64_t b = begin; b < begin + len; b += kBlock) {
      const int64_t m = std::min<int64_t>(kBlock, begin + len - b);
      const ConstArrayMap<T> x(s + b, m);
      const Eigen::Array<T, Eigen::Dynamic, 1, 0, kBlock, 1> g = (T(1) + (-x).exp()).inverse();
      ArrayMap<T>(grad + b, m) *= scale * g * (T(1) + x * (T(1) - g));
      if (out != nullptr) ArrayMap<T>(out + b, m) = scale * x * g;
    }
  });
}

template void SiluArray<float>(const float*, int64_t, float, float*);
template void SiluArray<double>(const double*, int64_t, double, double*);
template void SiluBackwardArray<float>(const float*, int64_t, float, float*, float*);
template void SiluBackwardArray<double>(const double*, int64_t, double, double*, double*);

}  // namespace shardrec
