#include "shardrec/nn/retrieval_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "shardrec/core/error.h"

namespace shardrec {

namespace {
constexpr double kNormEps = 1e-6;
}

template <typename T>
void L2NormalizeRows(const Mat<T>& x, Mat<T>* y, Vec<T>* inv_norm) {
  inv_norm->resize(x.rows());
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    (*inv_norm)[r] = T(1) / std::max(x.row(r).norm(), static_cast<T>(kNormEps));
  if (y != &x) y->resize(x.rows(), x.cols());
  *y = inv_norm->asDiagonal() * x;
}

template <typename T>
void L2NormalizeRowsBackward(const Mat<T>& y, const Vec<T>& inv_norm, const Mat<T>& dy, Mat<T>* dx) {
  SR_CHECK(dy.rows() == y.rows() && dy.cols() == y.cols()) << "L2 normalise backward: gradient shape";
  const Vec<T> dots = y.cwiseProduct(dy).rowwise().sum();
  Mat<T> out = inv_norm.asDiagonal() * (dy - dots.asDiagonal() * y);
  *dx = std::move(out);
}

template <typename T>
SampledSoftmaxLoss<T>::SampledSoftmaxLoss(double temperature) : inv_temp_(static_cast<T>(1.0 / temperature)) {
  SR_CHECK(temperature > 0) << "sampled softmax: temperature must be positive, got " << temperature;
}

template <typename T>
double SampledSoftmaxLoss<T>::Forward(const Mat<T>& queries, const Mat<T>& positives, const Mat<T>& negatives,
                                      const std::vector<uint64_t>& positive_ids,
                                      const std::vector<uint64_t>& negative_ids, double normaliser) {
  const Eigen::Index q = queries.rows(), r = negatives.rows();
  SR_CHECK(positives.rows() == q && positives.cols() == queries.cols() && negatives.cols() == queries.cols())
      << "sampled softmax: queries " << q << "x" << queries.cols() << ", positives " << positives.rows() << "x"
      << positives.cols() << ", negatives " << r << "x" << negatives.cols();
  SR_CHECK(static_cast<Eigen::Index>(positive_ids.size()) == q && static_cast<Eigen::Index>(negative_ids.size()) == r)
      << "sampled softmax: " << positive_ids.size() << " positive and " << negative_ids.size() << " negative ids";
  queries_ = &queries;
  positives_ = &positives;
  negatives_ = &negatives;
  d_neg_logit_.resize(q, r);
  d_neg_logit_.noalias() = (queries * negatives.transpose()) * inv_temp_;
  d_pos_logit_ = queries.cwiseProduct(positives).rowwise().sum() * inv_temp_;
  const T inv_norm = static_cast<T>(1.0 / normaliser);
  double loss = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss) if (q * r > 65536)
  for (Eigen::Index i = 0; i < q; ++i) {
    T* logits = d_neg_logit_.data() + i * r;
    const T pos = d_pos_logit_[i];
    T mx = pos;
    for (Eigen::Index j = 0; j < r; ++j) {
      if (negative_ids[j] == positive_ids[i]) logits[j] = -std::numeric_limits<T>::infinity();
      mx = std::max(mx, logits[j]);
    }
    T sum = std::exp(pos - mx);
    for (Eigen::Index j = 0; j < r; ++j) sum += (logits[j] = std::exp(logits[j] - mx));
    const T inv_sum = T(1) / sum;
    // CE = log(sum) + mx - pos; the gradients are softmax - onehot(positive).
    loss += static_cast<double>(std::log(sum) + mx - pos);
    for (Eigen::Index j = 0; j < r; ++j) logits[j] *= inv_sum * inv_norm;
    d_pos_logit_[i] = (std::exp(pos - mx) * inv_sum - T(1)) * inv_norm;
  }
  return loss / normaliser;
}

template <typename T>
void SampledSoftmaxLoss<T>::Backward(Mat<T>* d_queries, Mat<T>* d_positives, Mat<T>* d_negatives) const {
  SR_CHECK(queries_ != nullptr) << "sampled softmax: Backward before Forward";
  const Vec<T> dpos = d_pos_logit_ * inv_temp_;
  d_queries->resize(queries_->rows(), queries_->cols());
  d_queries->noalias() = (d_neg_logit_ * *negatives_) * inv_temp_;
  d_queries->noalias() += dpos.asDiagonal() * *positives_;
  *d_positives = dpos.asDiagonal() * *queries_;
  d_negatives->resize(negatives_->rows(), negatives_->cols());
  d_negatives->noalias() = (d_neg_logit_.transpose() * *queries_) * inv_temp_;
}

template void L2NormalizeRows<float>(const Mat<float>&, Mat<float>*, Vec<float>*);
template void L2NormalizeRows<double>(const Mat<double>&, Mat<double>*, Vec<double>*);
template void L2NormalizeRowsBackward<float>(const Mat<float>&, const Vec<float>&, const Mat<float>&, Mat<float>*);
template void L2NormalizeRowsBackward<double>(const Mat<double>&, const Vec<double>&, const Mat<double>&, Mat<double>*);
template class SampledSoftmaxLoss<float>;
template class SampledSoftmaxLoss<double>;

}  // namespace shardrec
