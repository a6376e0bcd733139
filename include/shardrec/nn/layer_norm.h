// Row-wise layer normalisation, x_hat = (x - mean) / sqrt(var + eps) with the
// biased variance. Affine scale and shift, where a layer has them, are applied
// by the layer; these two functions are the normalisation itself.
#pragma once

#include "shardrec/core/matrix.h"

namespace shardrec {

// y = x_hat. Keeps 1/sqrt(var + eps) per row in *rstd for the backward pass.
// y may alias x.
template <typename T>
void LayerNormForward(const Mat<T>& x, T eps, Mat<T>* y, Vec<T>* rstd);

// dx = rstd * (dy - mean(dy) - y * mean(dy .* y)) per row, from the forward
// output y and rstd. dx may alias dy.
template <typename T>
void LayerNormBackward(const Mat<T>& y, const Vec<T>& rstd, const Mat<T>& dy, Mat<T>* dx);

}  // namespace shardrec
