// Elementwise activations. Both may run in place (y == &x), and both remember
// their output, whose values alone determine the derivative.
#pragma once

#include <cmath>

#include "shardrec/core/matrix.h"

namespace shardrec {

template <typename T>
class Relu {
 public:
  // Keeps a pointer to y: it must stay alive and unchanged until Backward.
  void Forward(const Mat<T>& x, Mat<T>* y);
  // dx may alias dy.
  void Backward(const Mat<T>& dy, Mat<T>* dx);

 private:
  const Mat<T>* output_ = nullptr;
};

template <typename T>
class Sigmoid {
 public:
  // Numerically stable for any |x|. Keeps a pointer to y, as Relu does.
  void Forward(const Mat<T>& x, Mat<T>* y);
  // dx may alias dy.
  void Backward(const Mat<T>& dy, Mat<T>* dx);

 private:
  const Mat<T>* output_ = nullptr;
};

// Stable logistic function of one value (exp never overflows).
template <typename T>
inline T StableSigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

extern template class Relu<float>;
extern template class Relu<double>;
extern template class Sigmoid<float>;
extern template class Sigmoid<double>;

}  // namespace shardrec
