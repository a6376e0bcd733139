#include "shardrec/nn/mlp.h"

#include <utility>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/core/rng.h"

namespace shardrec {

template <typename T>
Mlp<T>::Mlp(int in, const std::vector<int>& widths, bool relu_last, uint64_t seed, uint64_t stream, std::string name)
    : in_(in) {
  SR_CHECK(!widths.empty()) << name << ": an MLP needs at least one layer";
  layers_.reserve(widths.size());
  int prev = in;
  for (size_t i = 0; i < widths.size(); ++i) {
    const bool relu = i + 1 < widths.size() || relu_last;
    layers_.emplace_back(prev, widths[i], seed, HashCombine(stream, i), Str(name, ".", i), relu);
    prev = widths[i];
  }
  acts_.resize(widths.size());
}

template <typename T>
void Mlp<T>::Forward(const Mat<T>& x, Mat<T>* y) {
  const Mat<T>* a = &x;
  for (int i = 0; i < num_layers(); ++i) {
    layers_[i].Forward(*a, &acts_[i]);
    a = &acts_[i];
  }
  *y = acts_.back();
}

template <typename T>
void Mlp<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  // Gradients ping-pong between two owned buffers; the first is dy itself.
  const Mat<T>* g = &dy;
  for (int i = num_layers() - 1; i >= 0; --i) {
    if (i == 0) {
      layers_[0].Backward(*g, dx);
    } else {
      Mat<T>* next = g == &grad_a_ ? &grad_b_ : &grad_a_;
      layers_[i].Backward(*g, next);
      g = next;
    }
  }
}

template <typename T>
void Mlp<T>::set_compute(ComputeType type) {
  for (auto& layer : layers_) layer.set_compute(type);
}

template <typename T>
std::vector<ParamRef<T>> Mlp<T>::Params() {
  std::vector<ParamRef<T>> out;
  for (auto& layer : layers_) {
    for (auto& p : layer.Params()) out.push_back(std::move(p));
  }
  return out;
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace shardrec
