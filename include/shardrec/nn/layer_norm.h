// Row-wise layer normalisation, x_hat = (x - mean) / sqrt(var + eps) with the
// biased variance. Affine scale and shift, where a layer has them, are applied
// by the layer; these two functions are the normalisation itself.
#pragma once

#include <string>
#include <vector>

#include "shardrec/core/matrix.h"
#include "shardrec/nn/param.h"

namespace shardrec {

// y = x_hat. Keeps 1/sqrt(var + eps) per row in *rstd for the backward pass.
// y may alias x.
template <typename T>
void LayerNormForward(const Mat<T>& x, T eps, Mat<T>* y, Vec<T>* rstd);

// dx = rstd * (dy - mean(dy) - y * mean(dy .* y)) per row, from the forward
// output y and rstd. dx may alias dy.
template <typename T>
void LayerNormBackward(const Mat<T>& y, const Vec<T>& rstd, const Mat<T>& dy, Mat<T>* dx);

// LayerNorm with a learned per-column scale (init 1) and shift (init 0).
template <typename T>
class AffineLayerNorm {
 public:
  AffineLayerNorm(int dim, double eps, std::string name);
  void Forward(const Mat<T>& x, Mat<T>* y);
  // Overwrites the parameter gradients; dx may alias dy.
  void Backward(const Mat<T>& dy, Mat<T>* dx);
  std::vector<ParamRef<T>> Params();
  void Release() {
    Mat<T>().swap(x_hat_);
    Vec<T>().swap(rstd_);
  }
  size_t SavedBytes() const { return static_cast<size_t>(x_hat_.size() + rstd_.size()) * sizeof(T); }
  RowVec<T>& weight() { return weight_; }
  RowVec<T>& bias() { return bias_; }

 private:
  T eps_;
  std::string name_;
  RowVec<T> weight_, bias_, g_weight_, g_bias_;
  Mat<T> x_hat_;
  Vec<T> rstd_;
};

extern template class AffineLayerNorm<float>;
extern template class AffineLayerNorm<double>;

}  // namespace shardrec
