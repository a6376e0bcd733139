// Fully connected layer Y = act(X·W + b) over a batch (rows are samples), act
// the identity or a ReLU. The bias and the ReLU are the product's epilogue (see
// core/gemm.h): applied while the product's tiles are in registers, and in
// backward the ReLU mask and the bias gradient are one pass over dy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shardrec/core/gemm.h"
#include "shardrec/core/matrix.h"
#include "shardrec/nn/param.h"

namespace shardrec {

template <typename T>
class Linear {
 public:
  // W is in x out, so a row-major batch multiplies it without a transpose.
  // Initialisation follows DLRM: W ~ N(0, sqrt(2 / (in + out))), b ~ N(0, sqrt(1 / out)),
  // drawn from CounterRng(seed, stream, 0) and (seed, stream, 1): identical on every rank.
  Linear(int in, int out, uint64_t seed, uint64_t stream, std::string name = "linear", bool relu = false);

  // x: B x in -> y: B x out. Keeps a pointer to x instead of copying it, so x must stay
  // alive and unchanged until Backward; with a ReLU, so must y (its mask).
  void Forward(const Mat<T>& x, Mat<T>* y);
  // dy: B x out, the gradient of y (after the ReLU, if any). Overwrites the parameter
  // gradients; writes dx (B x in) unless it is null, which skips that product when
  // nothing upstream needs it. dx must not alias dy.
  void Backward(const Mat<T>& dy, Mat<T>* dx);

  std::vector<ParamRef<T>> Params();

  // Type of the three products (x W, dy W^T, x^T dy); see core/gemm.h. The
  // weights stay T; dy's column sum stays T. Float layers take
  // any type, double layers only kFp32 (anything else throws).
  void set_compute(ComputeType type);
  ComputeType compute() const { return compute_; }

  int in() const { return static_cast<int>(weight_.rows()); }
  int out() const { return static_cast<int>(weight_.cols()); }
  bool relu() const { return relu_; }
  // The batch's row count changes from call to call (the tokens of jagged
  // batches): the products are planned once for any count (GemmOptions::rows_vary).
  void set_rows_vary(bool on) { rows_vary_ = on; }
  Mat<T>& weight() { return weight_; }
  RowVec<T>& bias() { return bias_; }
  const Mat<T>& weight_grad() const { return weight_grad_; }
  const RowVec<T>& bias_grad() const { return bias_grad_; }

 private:
  std::string name_;
  Mat<T> weight_;
  RowVec<T> bias_;
  Mat<T> weight_grad_;
  RowVec<T> bias_grad_;
  bool relu_;
  bool rows_vary_ = false;
  const Mat<T>* input_ = nullptr;
  const Mat<T>* output_ = nullptr;  // for the ReLU mask
  Mat<T> masked_dy_;                // dy through the ReLU
  ComputeType compute_ = ComputeType::kFp32;
};

extern template class Linear<float>;
extern template class Linear<double>;

}  // namespace shardrec
