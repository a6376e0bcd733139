#include "shardrec/nn/sasrec_layer.h"

#include <utility>

#include "shardrec/core/error.h"
#include "shardrec/core/rng.h"
#include "shardrec/nn/softmax_attention.h"

namespace shardrec {

template <typename T>
SasRecLayer<T>::SasRecLayer(const SasRecLayerShape& s, uint64_t seed, uint64_t stream, std::string name)
    : shape_(s),
      name_(name),
      ln1_(s.dim, 1e-8, name + ".ln1"),
      ln2_(s.dim, 1e-8, name + ".ln2"),
      q_(s.dim, s.heads * s.head_dim, seed, Hash3(stream, 1, 0), name + ".q"),
      k_(s.dim, s.heads * s.head_dim, seed, Hash3(stream, 2, 0), name + ".k"),
      v_(s.dim, s.heads * s.head_dim, seed, Hash3(stream, 3, 0), name + ".v"),
      o_(s.heads * s.head_dim, s.dim, seed, Hash3(stream, 4, 0), name + ".o"),
      ffn1_(s.dim, s.ffn_dim, seed, Hash3(stream, 5, 0), name + ".ffn1", /*relu=*/true),
      ffn2_(s.ffn_dim, s.dim, seed, Hash3(stream, 6, 0), name + ".ffn2"),
      attn_dropout_(s.dropout, Hash3(seed, stream, 0xA1)),
      ffn_dropout_(s.dropout, Hash3(seed, stream, 0xA2)) {
  // Rows are the tokens of jagged batches, a count that changes every step.
  for (Linear<T>* l : {&q_, &k_, &v_, &o_, &ffn1_, &ffn2_}) l->set_rows_vary(true);
}

template <typename T>
void SasRecLayer<T>::set_recompute(Recompute mode) {
  SR_CHECK(mode != Recompute::kSelective) << name_ << ": SASRec blocks recompute all or nothing (none, full)";
  recompute_ = mode;
}

template <typename T>
void SasRecLayer<T>::set_compute(ComputeType type) {
  for (Linear<T>* l : {&q_, &k_, &v_, &o_, &ffn1_, &ffn2_}) l->set_compute(type);
}

template <typename T>
size_t SasRecLayer<T>::SavedBytes() const {
  size_t b = ln1_.SavedBytes() + ln2_.SavedBytes() + attn_dropout_.SavedBytes() + ffn_dropout_.SavedBytes();
  for (const Mat<T>* m : {&z1_, &qm_, &km_, &vm_, &attn_, &proj_, &h_, &z2_, &f1_, &f2_}) b += BytesOf(*m);
  return b;
}

template <typename T>
void SasRecLayer<T>::ReleaseActivations() {
  if (recompute_ != Recompute::kFull) return;
  for (Mat<T>* m : {&z1_, &qm_, &km_, &vm_, &attn_, &proj_, &h_, &z2_, &f1_, &f2_}) Free(m);
  ln1_.Release();
  ln2_.Release();
  attn_dropout_.Release();
  ffn_dropout_.Release();
}

template <typename T>
void SasRecLayer<T>::Forward(const Mat<T>& x, const SequenceLayout& layout, Mat<T>* y) {
  layout_ = &layout;
  input_ = &x;
  ln1_.Forward(x, &z1_);
  q_.Forward(z1_, &qm_);
  k_.Forward(z1_, &km_);
  v_.Forward(z1_, &vm_);
  CausalSoftmaxAttentionForward(layout, qm_, km_, vm_, shape_.heads, &attn_);
  o_.Forward(attn_, &proj_);
  attn_dropout_.Forward(layout.token_keys, &proj_);
  h_ = x + proj_;
  ln2_.Forward(h_, &z2_);
  ffn1_.Forward(z2_, &f1_);
  ffn2_.Forward(f1_, &f2_);
  ffn_dropout_.Forward(layout.token_keys, &f2_);
  *y = h_ + f2_;
  ReleaseActivations();
}

template <typename T>
void SasRecLayer<T>::Backward(const Mat<T>& dy, Mat<T>* dx) {
  SR_CHECK(layout_ != nullptr) << name_ << ": Backward before Forward";
  if (recompute_ == Recompute::kFull) {
    // Rebuild every activation by running the forward again on the kept input.
    const Recompute mode = recompute_;
    recompute_ = Recompute::kNone;
    Mat<T> y;
    Forward(*input_, *layout_, &y);
    recompute_ = mode;
  }
  backward_peak_bytes_ = SavedBytes();
  // FFN branch.
  Mat<T> g = dy, g1, dh;
  ffn_dropout_.Backward(&g);
  ffn2_.Backward(g, &g1);
  ffn1_.Backward(g1, &g);
  ln2_.Backward(g, &dh);
  dh += dy;
  // Attention branch.
  g = dh;
  attn_dropout_.Backward(&g);
  Mat<T> d_attn, dq, dk, dv, dz, dz_part;
  o_.Backward(g, &d_attn);
  CausalSoftmaxAttentionBackward(*layout_, qm_, km_, vm_, shape_.heads, d_attn, &dq, &dk, &dv);
  q_.Backward(dq, &dz);
  k_.Backward(dk, &dz_part);
  dz += dz_part;
  v_.Backward(dv, &dz_part);
  dz += dz_part;
  ln1_.Backward(dz, &dz);
  *dx = dh + dz;
  ReleaseActivations();
}

template <typename T>
std::vector<ParamRef<T>> SasRecLayer<T>::Params() {
  std::vector<ParamRef<T>> all;
  for (auto* part : {&ln1_}) {
    auto p = part->Params();
    all.insert(all.end(), p.begin(), p.end());
  }
  for (auto* part : {&q_, &k_, &v_, &o_}) {
    auto p = part->Params();
    all.insert(all.end(), p.begin(), p.end());
  }
  auto p2 = ln2_.Params();
  all.insert(all.end(), p2.begin(), p2.end());
  for (auto* part : {&ffn1_, &ffn2_}) {
    auto p = part->Params();
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

template class SasRecLayer<float>;
template class SasRecLayer<double>;

}  // namespace shardrec
