#include "shardrec/nn/linear.h"

#include <cmath>
#include <type_traits>
#include <utility>

#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"

namespace shardrec {

namespace {
// Fills m row-major from one generator, so the values depend only on (seed, stream, index)
// and the shape — never on T beyond the final rounding.
template <typename Dense>
void FillNormal(uint64_t seed, uint64_t stream, uint64_t index, double stddev, Dense* m) {
  CounterRng rng(seed, stream, index);
  using T = typename Dense::Scalar;
  T* p = m->data();
  for (Eigen::Index i = 0; i < m->size(); ++i) p[i] = static_cast<T>(stddev * rng.Normal());
}
}  // namespace

template <typename T>
Linear<T>::Linear(int in, int out, uint64_t seed, uint64_t stream, std::string name)
    : name_(std::move(name)),
      weight_(in, out),
      bias_(out),
      weight_grad_(Mat<T>::Zero(in, out)),
      bias_grad_(RowVec<T>::Zero(out)) {
  SR_CHECK(in > 0 && out > 0) << name_ << ": layer widths must be positive, got " << in << " -> " << out;
  FillNormal(seed, stream, 0, std::sqrt(2.0 / (in + out)), &weight_);
  FillNormal(seed, stream, 1, std::sqrt(1.0 / out), &bias_);
}

template <typename T>
void Linear<T>::Forward(const Mat<T>& x, Mat<T>* y) {
  SR_CHECK(x.cols() == weight_.rows()) << name_ << ": input has " << x.cols() << " columns, expected "
                                       << weight_.rows();
  input_ = &x;
  MatMul(compute_, x, Trans::kNo, weight_, Trans::kNo, y);
  y->rowwise() += bias_;
}

template <typename T>
void Linear<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  SR_CHECK(input_ != nullptr) << name_ << ": Backward before Forward";
  SR_CHECK(dy.rows() == input_->rows() && dy.cols() == weight_.cols())
      << name_ << ": output gradient is " << dy.rows() << "x" << dy.cols() << ", expected " << input_->rows() << "x"
      << weight_.cols();
  MatMul(compute_, *input_, Trans::kYes, dy, Trans::kNo, &weight_grad_);
  bias_grad_.noalias() = dy.colwise().sum();
  if (dx != nullptr) MatMul(compute_, dy, Trans::kNo, weight_, Trans::kYes, dx);
}

template <typename T>
void Linear<T>::set_compute(ComputeType type) {
  SR_CHECK((std::is_same_v<T, float> || type == ComputeType::kFp32))
      << name_ << ": compute type " << ComputeTypeName(type)
      << " applies to float layers; double layers compute in double";
  compute_ = type;
}

template <typename T>
std::vector<ParamRef<T>> Linear<T>::Params() {
  return {{name_ + ".weight", weight_.data(), weight_grad_.data(), static_cast<size_t>(weight_.size())},
          {name_ + ".bias", bias_.data(), bias_grad_.data(), static_cast<size_t>(bias_.size())}};
}

template class Linear<float>;
template class Linear<double>;

}  // namespace shardrec
