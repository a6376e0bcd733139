#include "shardrec/nn/activation.h"

#include "shardrec/core/error.h"

namespace shardrec {

template <typename T>
void Sigmoid<T>::Forward(const Mat<T>& x, Mat<T>* y) {
  if (y != &x) y->resize(x.rows(), x.cols());
  *y = x.unaryExpr([](T v) { return StableSigmoid(v); });
  output_ = y;
}

template <typename T>
void Sigmoid<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  SR_CHECK(output_ != nullptr) << "Sigmoid: Backward before Forward";
  SR_CHECK(dy.rows() == output_->rows() && dy.cols() == output_->cols()) << "Sigmoid: gradient shape mismatch";
  if (dx != &dy) dx->resize(dy.rows(), dy.cols());
  *dx = dy.array() * output_->array() * (T(1) - output_->array());
}

template class Sigmoid<float>;
template class Sigmoid<double>;

}  // namespace shardrec
