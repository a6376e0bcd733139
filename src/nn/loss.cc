#include "shardrec/nn/loss.h"

#include <algorithm>
#include <cmath>

#include "shardrec/core/error.h"
#include "shardrec/nn/activation.h"

namespace shardrec {

template <typename T>
double BceWithLogits<T>::Forward(const Eigen::Ref<const Vec<T>>& logits, const Eigen::Ref<const Vec<T>>& labels,
                                 double normaliser) {
  SR_CHECK(logits.size() == labels.size())
      << "BceWithLogits: " << logits.size() << " logits but " << labels.size() << " labels";
  SR_CHECK(normaliser > 0) << "BceWithLogits: normaliser must be positive, got " << normaliser;
  grad_.resize(logits.size());
  const T inv = static_cast<T>(1.0 / normaliser);
  double sum = 0;
  for (Eigen::Index i = 0; i < logits.size(); ++i) {
    const double x = logits[i];
    const double y = labels[i];
    // log(1 + e^x) - x*y rewritten so that exp only ever sees -|x|.
    sum += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
    grad_[i] = (StableSigmoid(logits[i]) - labels[i]) * inv;
  }
  return sum / normaliser;
}

template <typename T>
void BceWithLogits<T>::Backward(Vec<T>* dlogits) const {
  *dlogits = grad_;
}

template class BceWithLogits<float>;
template class BceWithLogits<double>;

}  // namespace shardrec
