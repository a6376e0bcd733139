// The pieces of next-item retrieval training: row-wise L2 normalisation (user
// and item embeddings are compared by cosine similarity) and the sampled
// softmax over the true next item and shared sampled negatives.
#pragma once

#include <cstdint>
#include <vector>

#include "shardrec/core/matrix.h"

namespace shardrec {

// y = x / max(|x|, 1e-6) per row; keeps 1/max(|x|, 1e-6) per row. y may alias x.
template <typename T>
void L2NormalizeRows(const Mat<T>& x, Mat<T>* y, Vec<T>* inv_norm);
// dx = (dy - y * (y . dy)) / |x| per row (dx may alias dy).
template <typename T>
void L2NormalizeRowsBackward(const Mat<T>& y, const Vec<T>& inv_norm, const Mat<T>& dy, Mat<T>* dx);

// Softmax cross-entropy of each query over [its positive, every negative],
// logits = dot products / temperature. A negative whose id equals the query's
// positive id is left out for that query (an accidental hit is not a negative).
template <typename T>
class SampledSoftmaxLoss {
 public:
  explicit SampledSoftmaxLoss(double temperature);

  // queries, positives: Q x D (row q is query q and its target); negatives: R x D.
  // Returns sum_q CE_q / normaliser, accumulated in double. Pass the global
  // number of queries as the normaliser, so gradients summed over ranks are the
  // gradient of the global mean. Keeps what Backward needs (copies nothing large
  // beyond the probabilities; the inputs must stay alive until Backward).
  double Forward(const Mat<T>& queries, const Mat<T>& positives, const Mat<T>& negatives,
                 const std::vector<uint64_t>& positive_ids, const std::vector<uint64_t>& negative_ids,
                 double normaliser);
  // Overwrites the three gradients (resized to the inputs' shapes).
  void Backward(Mat<T>* d_queries, Mat<T>* d_positives, Mat<T>* d_negatives) const;

 private:
  T inv_temp_;
  const Mat<T>* queries_ = nullptr;
  const Mat<T>* positives_ = nullptr;
  const Mat<T>* negatives_ = nullptr;
  Vec<T> d_pos_logit_;  // dLoss/d positive logit per query
  Mat<T> d_neg_logit_;  // Q x R
};

extern template class SampledSoftmaxLoss<float>;
extern template class SampledSoftmaxLoss<double>;

}  // namespace shardrec
