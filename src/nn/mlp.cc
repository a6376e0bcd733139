#include "shardrec/nn/mlp.h"

#include <utility>

#include "shardrec/core/error.h"
#include "shardrec/core/log.h"
#include "shardrec/core/rng.h"

namespace shardrec {

template <typename T>
Mlp<T>::Mlp(int in, const std::vector<int>& widths, bool relu_last, uint64_t seed, uint64_t stream, std::string name)
    : in_(in), relu_last_(relu_last) {
  SR_CHECK(!widths.empty()) << name << ": an MLP needs at least one layer";
  layers_.reserve(widths.size());
  int prev = in;
  for (size_t i = 0; i < widths.size(); ++i) {
    layers_.emplace_back(prev, widths[i], seed, HashCombine(stream, i), Str(name, ".", i));
    prev = widths[i];
  }
  relus_.resize(widths.size());
  acts_.resize(widths.size());
}

template <typename T>
void Mlp<T>::Forward(const Mat<T>& x, Mat<T>* y) {
  const Mat<T>* a = &x;
  const int last = num_layers() - 1;
  for (int i = 0; i <= last; ++i) {
    layers_[i].Forward(*a, &acts_[i]);
    if (i < last || relu_last_) relus_[i].Forward(acts_[i], &acts_[i]);
    a = &acts_[i];
  }
  *y = acts_[last];
}

template <typename T>
void Mlp<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  // `cur` is the owned buffer holding the running gradient, or null while it is still dy
  // (which is const, so the first ReLU cannot mask it in place).
  Mat<T>* cur = nullptr;
  const int last = num_layers() - 1;
  for (int i = last; i >= 0; --i) {
    if (i < last || relu_last_) {
      if (cur == nullptr) {
        cur = &grad_a_;
        relus_[i].Backward(dy, cur);
      } else {
        relus_[i].Backward(*cur, cur);
      }
    }
    const Mat<T>& g = cur != nullptr ? *cur : dy;
    if (i == 0) {
      layers_[0].Backward(g, dx);
    } else {
      Mat<T>* other = cur == &grad_a_ ? &grad_b_ : &grad_a_;
      layers_[i].Backward(g, other);
      cur = other;
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
