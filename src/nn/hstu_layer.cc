#include "shardrec/nn/hstu_layer.h"

#include <cmath>
#include <type_traits>
#include <utility>

#include "common/hstu_bias.h"
#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"
#include "shardrec/nn/layer_norm.h"
#include "shardrec/nn/silu.h"

namespace shardrec {

namespace {
// Every product here has the batch's tokens as A's rows, a count that changes
// with each jagged batch.
template <typename T>
const GemmOptions<T> kTokenRows = GemmOptions<T>::VaryingRows();
}  // namespace
namespace {

constexpr double kEps = 1e-6;

template <typename Dense>
void FillNormal(CounterRng rng, double stddev, Dense* m) {
  using T = typename Dense::Scalar;
  for (Eigen::Index i = 0; i < m->size(); ++i) m->data()[i] = static_cast<T>(stddev * rng.Normal());
}

}  // namespace

template <typename T>
HstuLayer<T>::HstuLayer(const HstuLayerShape& shape, uint64_t seed, uint64_t stream, std::string name)
    : shape_(shape), name_(std::move(name)), dropout_(shape.dropout, Hash3(seed, stream, 0xD0)) {
  SR_CHECK(shape.dim > 0 && shape.heads > 0 && shape.dqk > 0 && shape.dv > 0 && shape.max_len > 0)
      << name_ << ": dim, heads, dqk, dv and max_len must be positive";
  const int h = shape.heads;
  w_uvqk_.resize(shape.dim, 2 * h * shape.dv + 2 * h * shape.dqk);
  FillNormal(CounterRng(seed, stream, 0), 0.02, &w_uvqk_);
  w_o_.resize(h * shape.dv, shape.dim);
  const double limit = std::sqrt(6.0 / (h * shape.dv + shape.dim));  // Xavier-uniform
  CounterRng rng(seed, stream, 1);
  for (Eigen::Index i = 0; i < w_o_.size(); ++i) w_o_.data()[i] = static_cast<T>(rng.Uniform(-limit, limit));
  b_o_ = RowVec<T>::Zero(shape.dim);
  pos_bias_.resize(2 * shape.max_len - 1);
  FillNormal(CounterRng(seed, stream, 2), 0.02, &pos_bias_);
  time_bias_.resize(kernels::kHstuTimeBuckets);
  FillNormal(CounterRng(seed, stream, 3), 0.02, &time_bias_);
  g_uvqk_ = Mat<T>::Zero(w_uvqk_.rows(), w_uvqk_.cols());
  g_o_ = Mat<T>::Zero(w_o_.rows(), w_o_.cols());
  g_b_o_ = RowVec<T>::Zero(shape.dim);
  g_pos_ = Vec<T>::Zero(pos_bias_.size());
  g_time_ = Vec<T>::Zero(time_bias_.size());
}

template <typename T>
void HstuLayer<T>::set_compute(ComputeType type) {
  SR_CHECK((std::is_same_v<T, float> || type == ComputeType::kFp32))
      << name_ << ": compute type " << ComputeTypeName(type)
      << " applies to float layers; double layers compute in double";
  compute_ = type;
}

template <typename T>
HstuAttentionParams<T> HstuLayer<T>::AttentionParams() const {
  HstuAttentionParams<T> p;
  p.heads = shape_.heads;
  p.dqk = shape_.dqk;
  p.dv = shape_.dv;
  p.max_len = shape_.max_len;
  if (shape_.relative_bias) {
    p.pos_bias = pos_bias_.data();
    p.time_bias = time_bias_.data();
  }
  return p;
}

template <typename T>
void HstuLayer<T>::UvqkFromPre(Activations* a) {
  a->uvqk.resize(a->pre.rows(), a->pre.cols());
  SiluArray(a->pre.data(), a->pre.size(), T(1), a->uvqk.data());
}

template <typename T>
void HstuLayer<T>::ProjectIn(const Mat<T>& x, Activations* a) const {
  SR_CHECK(x.cols() == shape_.dim) << name_ << ": input has " << x.cols() << " columns, expected " << shape_.dim;
  LayerNormForward(x, T(kEps), &a->x_hat, &a->x_rstd);
  MatMul(compute_, a->x_hat, Trans::kNo, w_uvqk_, Trans::kNo, &a->pre, T(0), kTokenRows<T>);
  UvqkFromPre(a);
}

template <typename T>
void HstuLayer<T>::Gate(Activations* a, Dropout<T>* dropout, const std::vector<uint64_t>& keys) const {
  LayerNormForward(a->attn, T(kEps), &a->attn_hat, &a->attn_rstd);
  a->gated = a->uvqk.leftCols(shape_.heads * shape_.dv).cwiseProduct(a->attn_hat);
  if (dropout != nullptr) dropout->Forward(keys, &a->gated);
}

template <typename T>
void HstuLayer<T>::ProjectOut(const Mat<T>& x, const Activations& a, Mat<T>* y) const {
  *y = x;
  MatMul(compute_, a.gated, Trans::kNo, w_o_, Trans::kNo, y, T(1), kTokenRows<T>);
  y->rowwise() += b_o_;
}

template <typename T>
size_t HstuLayer<T>::SavedBytes() const {
  return BytesOf(act_.x_hat) + BytesOf(act_.pre) + BytesOf(act_.uvqk) + BytesOf(act_.attn) + BytesOf(act_.attn_hat) +
         BytesOf(act_.gated) + BytesOf(act_.x_rstd) + BytesOf(act_.attn_rstd) + dropout_.SavedBytes();
}

template <typename T>
void HstuLayer<T>::ReleaseActivations() {
  if (recompute_ == Recompute::kNone) return;
  // Selective keeps the two matrix-product outputs (pre = x_hat W_uvqk and the
  // attention output): everything else is elementwise work on them or on x.
  if (recompute_ == Recompute::kFull) {
    Free(&act_.pre);
    Free(&act_.attn);
  }
  Free(&act_.x_hat);
  Free(&act_.uvqk);
  Free(&act_.attn_hat);
  Free(&act_.gated);
  Free(&act_.x_rstd);
  Free(&act_.attn_rstd);
  dropout_.Release();
}

template <typename T>
void HstuLayer<T>::Forward(const Mat<T>& x, const SequenceLayout& layout, Mat<T>* y) {
  layout_ = &layout;
  input_ = &x;
  ProjectIn(x, &act_);
  HstuAttentionForward(layout, act_.uvqk, QCol(), KCol(), VCol(), AttentionParams(), &act_.attn);
  Gate(&act_, &dropout_, layout.token_keys);
  ProjectOut(x, act_, y);
  ReleaseActivations();
}

template <typename T>
void HstuLayer<T>::ForwardAndCache(const Mat<T>& x, const SequenceLayout& history, Mat<T>* y,
                                   HstuLayerCache<T>* cache) {
  SR_CHECK(history.num_targets.empty()) << name_ << ": cached histories have no candidates";
  Activations a;
  ProjectIn(x, &a);
  HstuAttentionForward(history, a.uvqk, QCol(), KCol(), VCol(), AttentionParams(), &a.attn);
  Gate(&a, nullptr, {});
  ProjectOut(x, a, y);
  cache->k = a.uvqk.middleCols(KCol(), shape_.heads * shape_.dqk);
  cache->v = a.uvqk.middleCols(VCol(), shape_.heads * shape_.dv);
}

template <typename T>
void HstuLayer<T>::ForwardCandidates(const Mat<T>& x, const SequenceLayout& history, const HstuLayerCache<T>& cache,
                                     const SequenceLayout& candidates, Mat<T>* y) const {
  Activations a;
  ProjectIn(x, &a);
  HstuAttentionCandidates(history, cache.k, cache.v, candidates, a.uvqk, QCol(), KCol(), VCol(), AttentionParams(),
                          &a.attn);
  Gate(&a, nullptr, {});
  ProjectOut(x, a, y);
}

template <typename T>
void HstuLayer<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  SR_CHECK(layout_ != nullptr) << name_ << ": Backward before Forward";
  // Rebuild what Forward dropped, with the same code on the same inputs.
  if (recompute_ == Recompute::kFull) {
    ProjectIn(*input_, &act_);
    HstuAttentionForward(*layout_, act_.uvqk, QCol(), KCol(), VCol(), AttentionParams(), &act_.attn);
    Gate(&act_, &dropout_, layout_->token_keys);
  } else if (recompute_ == Recompute::kSelective) {
    LayerNormForward(*input_, T(kEps), &act_.x_hat, &act_.x_rstd);
    UvqkFromPre(&act_);
    Gate(&act_, &dropout_, layout_->token_keys);
  }
  backward_peak_bytes_ = SavedBytes();
  SR_CHECK(dy.rows() == act_.x_hat.rows() && dy.cols() == shape_.dim)
      << name_ << ": output gradient is " << dy.rows() << "x" << dy.cols();
  SR_CHECK(dx != &dy) << name_ << ": dx may not alias dy";
  const int uv = shape_.heads * shape_.dv;
  MatMul(compute_, act_.gated, Trans::kYes, dy, Trans::kNo, &g_o_, T(0), kTokenRows<T>);
  g_b_o_.noalias() = dy.colwise().sum();
  Mat<T> d_gated;
  MatMul(compute_, dy, Trans::kNo, w_o_, Trans::kYes, &d_gated, T(0), kTokenRows<T>);
  dropout_.Backward(&d_gated);
  Mat<T> d_pre(dy.rows(), w_uvqk_.cols());
  d_pre.leftCols(uv) = d_gated.cwiseProduct(act_.attn_hat);           // dU
  Mat<T> d_attn = d_gated.cwiseProduct(act_.uvqk.leftCols(uv));       // d LayerNorm(O)
  LayerNormBackward(act_.attn_hat, act_.attn_rstd, d_attn, &d_attn);  // dO
  g_pos_.setZero();
  g_time_.setZero();
  HstuAttentionBackward(*layout_, act_.uvqk, QCol(), KCol(), VCol(), AttentionParams(), d_attn, &d_pre,
                        shape_.relative_bias ? g_pos_.data() : nullptr,
                        shape_.relative_bias ? g_time_.data() : nullptr);
  // Through the SiLU: d pre = d uvqk * SiLU'(pre).
  SiluBackwardArray(act_.pre.data(), act_.pre.size(), T(1), d_pre.data(), static_cast<T*>(nullptr));
  MatMul(compute_, act_.x_hat, Trans::kYes, d_pre, Trans::kNo, &g_uvqk_, T(0), kTokenRows<T>);
  Mat<T> d_x_hat;
  MatMul(compute_, d_pre, Trans::kNo, w_uvqk_, Trans::kYes, &d_x_hat, T(0), kTokenRows<T>);
  LayerNormBackward(act_.x_hat, act_.x_rstd, d_x_hat, &d_x_hat);
  *dx = dy + d_x_hat;
  ReleaseActivations();
}

template <typename T>
std::vector<ParamRef<T>> HstuLayer<T>::Params() {
  std::vector<ParamRef<T>> p = {
      {name_ + ".w_uvqk", w_uvqk_.data(), g_uvqk_.data(), static_cast<size_t>(w_uvqk_.size())},
      {name_ + ".w_o", w_o_.data(), g_o_.data(), static_cast<size_t>(w_o_.size())},
      {name_ + ".b_o", b_o_.data(), g_b_o_.data(), static_cast<size_t>(b_o_.size())}};
  if (shape_.relative_bias) {
    p.push_back({name_ + ".pos_bias", pos_bias_.data(), g_pos_.data(), static_cast<size_t>(pos_bias_.size())});
    p.push_back({name_ + ".time_bias", time_bias_.data(), g_time_.data(), static_cast<size_t>(time_bias_.size())});
  }
  return p;
}

template class HstuLayer<float>;
template class HstuLayer<double>;

}  // namespace shardrec
