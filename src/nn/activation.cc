#include "shardrec/nn/activation.h"

#include "shardrec/core/error.h"

namespace shardrec {

template <typename T>
void Relu<T>::Forward(const Mat<T>& x, Mat<T>* y) {
  if (y != &x) y->resize(x.rows(), x.cols());
  *y = x.cwiseMax(T(0));
  output_ = y;
}

template <typename T>
void Relu<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  SR_CHECK(output_ != nullptr) << "Relu: Backward before Forward";
  SR_CHECK(dy.rows() == output_->rows() && dy.cols() == output_->cols()) << "Relu: gradient shape mismatch";
  if (dx != &dy) dx->resize(dy.rows(), dy.cols());
  // y > 0 exactly where x > 0; the kink at 0 gets derivative 0. A multiply by the 0/1 mask
  // vectorises on every target, where select() does not without SSE4.1.
  dx->array() = dy.array() * (output_->array() > T(0)).template cast<T>();
}

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

template class Relu<float>;
template class Relu<double>;
template class Sigmoid<float>;
template class Sigmoid<double>;

}  // namespace shardrec
