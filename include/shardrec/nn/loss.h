// Binary cross-entropy on logits.
#pragma once

#include <Eigen/Core>

#include "shardrec/core/matrix.h"

namespace shardrec {

template <typename T>
class BceWithLogits {
 public:
  // Returns sum_i bce(logits_i, labels_i) / normaliser, computed stably (finite for any
  // logit) and accumulated in double. Pass the GLOBAL batch size as the normaliser: each
  // rank's gradients then sum, over ranks, to the gradient of the global mean. The gradient
  // is computed here too (it shares the sigmoid) and kept for Backward, so the inputs need
  // not outlive this call. Accepts Vec<T> or a contiguous Map (e.g. over Batch::labels).
  double Forward(const Eigen::Ref<const Vec<T>>& logits, const Eigen::Ref<const Vec<T>>& labels, double normaliser);
  // dlogits_i = (sigmoid(logits_i) - labels_i) / normaliser, from the last Forward.
  void Backward(Vec<T>* dlogits) const;

 private:
  Vec<T> grad_;
};

extern template class BceWithLogits<float>;
extern template class BceWithLogits<double>;

}  // namespace shardrec
