// Elementwise activations. They may run in place (y == &x), and remember their
// output, whose values alone determine the derivative. (ReLU is part of Linear:
// it runs in the matrix product's epilogue.)
#pragma once

#include <cmath>

#include "shardrec/core/matrix.h"

namespace shardrec {

template <typename T>
class Sigmoid {
 public:
  // Numerically stable for any |x|. Keeps a pointer to y: it must stay alive and
  // unchanged until Backward.
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

extern template class Sigmoid<float>;
extern template class Sigmoid<double>;

}  // namespace shardrec
