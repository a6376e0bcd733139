// A stack of Linear layers with ReLU between them (each fused into its layer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shardrec/core/matrix.h"
#include "shardrec/nn/linear.h"
#include "shardrec/nn/param.h"

namespace shardrec {

template <typename T>
class Mlp {
 public:
  // Layer i maps widths[i-1] (in for i == 0) to widths[i] and draws its initial values
  // from stream HashCombine(stream, i). relu_last puts a ReLU after the last layer too
  // (DLRM's bottom MLP) or leaves it linear (a logit). Parameters are named
  // "<name>.<i>.weight" / "<name>.<i>.bias".
  Mlp(int in, const std::vector<int>& widths, bool relu_last, uint64_t seed, uint64_t stream, std::string name);

  // x: B x in -> y: B x widths.back(). Keeps a pointer to x (see Linear::Forward);
  // the intermediate activations are owned here.
  void Forward(const Mat<T>& x, Mat<T>* y);
  // Overwrites every layer's parameter gradients; dx (B x in) may be null when the
  // input needs no gradient, which skips the first layer's input product.
  void Backward(const Mat<T>& dy, Mat<T>* dx);

  std::vector<ParamRef<T>> Params();

  // Compute type of every layer's products (Linear::set_compute).
  void set_compute(ComputeType type);
  ComputeType compute() const { return layers_.front().compute(); }

  int in() const { return in_; }
  int out() const { return layers_.back().out(); }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  Linear<T>& layer(int i) { return layers_[i]; }

 private:
  int in_;
  std::vector<Linear<T>> layers_;
  std::vector<Mat<T>> acts_;  // acts_[i] = output of layer i (after its ReLU, if any)
  Mat<T> grad_a_, grad_b_;    // ping-pong buffers for the backward pass
};

extern template class Mlp<float>;
extern template class Mlp<double>;

}  // namespace shardrec
