#include "shardrec/nn/layer_norm.h"

#include <cmath>
#include <utility>

#include "shardrec/core/error.h"

namespace shardrec {

template <typename T>
void LayerNormForward(const Mat<T>& x, T eps, Mat<T>* y, Vec<T>* rstd) {
  const Eigen::Index rows = x.rows(), cols = x.cols();
  SR_CHECK(cols > 0) << "layer norm over 0 columns";
  if (y != &x) y->resize(rows, cols);
  rstd->resize(rows);
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
  for (Eigen::Index r = 0; r < rows; ++r) {
    const T* in = x.data() + r * cols;
    T* out = y->data() + r * cols;
    // Two passes: the variance of centred values avoids the cancellation of E[x^2] - E[x]^2.
    T mean = 0;
    for (Eigen::Index c = 0; c < cols; ++c) mean += in[c];
    mean /= static_cast<T>(cols);
    T var = 0;
    for (Eigen::Index c = 0; c < cols; ++c) var += (in[c] - mean) * (in[c] - mean);
    var /= static_cast<T>(cols);
    const T rs = T(1) / std::sqrt(var + eps);
    (*rstd)[r] = rs;
    for (Eigen::Index c = 0; c < cols; ++c) out[c] = (in[c] - mean) * rs;
  }
}

template <typename T>
void LayerNormBackward(const Mat<T>& y, const Vec<T>& rstd, const Mat<T>& dy, Mat<T>* dx) {
  const Eigen::Index rows = y.rows(), cols = y.cols();
  SR_CHECK(dy.rows() == rows && dy.cols() == cols && rstd.size() == rows)
      << "layer norm backward: gradient " << dy.rows() << "x" << dy.cols() << " for output " << rows << "x" << cols;
  if (dx != &dy) dx->resize(rows, cols);
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
  for (Eigen::Index r = 0; r < rows; ++r) {
    const T* yr = y.data() + r * cols;
    const T* g = dy.data() + r * cols;
    T* out = dx->data() + r * cols;
    T mean_g = 0, mean_gy = 0;
    for (Eigen::Index c = 0; c < cols; ++c) {
      mean_g += g[c];
      mean_gy += g[c] * yr[c];
    }
    mean_g /= static_cast<T>(cols);
    mean_gy /= static_cast<T>(cols);
    for (Eigen::Index c = 0; c < cols; ++c) out[c] = rstd[r] * (g[c] - mean_g - yr[c] * mean_gy);
  }
}

template <typename T>
AffineLayerNorm<T>::AffineLayerNorm(int dim, double eps, std::string name)
    : eps_(static_cast<T>(eps)),
      name_(std::move(name)),
      weight_(RowVec<T>::Ones(dim)),
      bias_(RowVec<T>::Zero(dim)),
      g_weight_(RowVec<T>::Zero(dim)),
      g_bias_(RowVec<T>::Zero(dim)) {}

template <typename T>
void AffineLayerNorm<T>::Forward(const Mat<T>& x, Mat<T>* y) {
  SR_CHECK(x.cols() == weight_.size()) << name_ << ": input has " << x.cols() << " columns, expected "
                                       << weight_.size();
  LayerNormForward(x, eps_, &x_hat_, &rstd_);
  *y = (x_hat_.array().rowwise() * weight_.array()).rowwise() + bias_.array();
}

template <typename T>
void AffineLayerNorm<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  g_weight_.noalias() = dy.cwiseProduct(x_hat_).colwise().sum();
  g_bias_.noalias() = dy.colwise().sum();
  Mat<T> d_hat = dy.array().rowwise() * weight_.array();
  LayerNormBackward(x_hat_, rstd_, d_hat, dx);
}

template <typename T>
std::vector<ParamRef<T>> AffineLayerNorm<T>::Params() {
  return {{name_ + ".weight", weight_.data(), g_weight_.data(), static_cast<size_t>(weight_.size())},
          {name_ + ".bias", bias_.data(), g_bias_.data(), static_cast<size_t>(bias_.size())}};
}

template class AffineLayerNorm<float>;
template class AffineLayerNorm<double>;

template void LayerNormForward<float>(const Mat<float>&, float, Mat<float>*, Vec<float>*);
template void LayerNormForward<double>(const Mat<double>&, double, Mat<double>*, Vec<double>*);
template void LayerNormBackward<float>(const Mat<float>&, const Vec<float>&, const Mat<float>&, Mat<float>*);
template void LayerNormBackward<double>(const Mat<double>&, const Vec<double>&, const Mat<double>&, Mat<double>*);

}  // namespace shardrec
